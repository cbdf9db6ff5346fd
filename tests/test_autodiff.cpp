// Autodiff: every rule in the gradient table checked against central finite differences in
// float64 (eps 1e-6, rtol 1e-3, atol 1e-5), including broadcast operands; and the ONNX
// Gradient op expanded at import.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "passes/autodiff.h"
#include "runtime/interpreter.h"

using namespace nnc;

namespace {

Tensor random_tensor(const Shape& s, std::mt19937& rng, double lo, double hi) {
  Tensor t(DType::Float64, s);
  std::uniform_real_distribution<double> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, d(rng));
  return t;
}

Dims static_dims(const Shape& s) {
  Dims d;
  for (int64_t v : s) d.push_back(Dim::fixed(v));
  return d;
}

// loss = ReduceSum(op(x0, x1) * w) for a fixed random w; checks d loss / d x_i.
void check_gradient(OpKind op, const std::vector<Shape>& shapes, const Shape& out_shape, double lo = -2, double hi = 2) {
  std::mt19937 rng(42);
  Graph g;
  std::vector<Value*> xs;
  TensorMap feeds;
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::string name = "x" + std::to_string(i);
    xs.push_back(g.add_input(name, DType::Float64, static_dims(shapes[i])));
    feeds[name] = random_tensor(shapes[i], rng, lo, hi);
  }
  Node* n = g.add_node(op, xs, 1, "op");
  n->outputs[0]->dtype = DType::Float64;
  n->outputs[0]->dims = static_dims(out_shape);
  Value* w = g.add_initializer("w", random_tensor(out_shape, rng, -1, 1));
  Node* weighted = g.add_node(OpKind::Mul, {n->outputs[0], w}, 1, "weighted");
  weighted->outputs[0]->dtype = DType::Float64;
  weighted->outputs[0]->dims = static_dims(out_shape);
  Attributes keep;
  keep.set("keepdims", int64_t{0});
  Node* loss = g.add_node(OpKind::ReduceSum, {weighted->outputs[0]}, 1, "loss", keep);
  loss->outputs[0]->dtype = DType::Float64;
  g.outputs = {loss->outputs[0]};
  std::vector<Value*> grads = build_gradients(g, loss->outputs[0], xs);
  for (Value* gv : grads) g.outputs.push_back(gv);

  std::vector<Tensor> analytic = run_reference(g, feeds);
  const double eps = 1e-6;
  for (size_t i = 0; i < xs.size(); ++i) {
    INFO(op_name(op) << " input " << i);
    const Tensor& grad = analytic[1 + i];
    REQUIRE(grad.shape() == shapes[i]);
    for (int64_t k = 0; k < grad.numel(); ++k) {
      TensorMap plus = feeds, minus = feeds;
      plus[xs[i]->name].set_double(k, feeds[xs[i]->name].at_double(k) + eps);
      minus[xs[i]->name].set_double(k, feeds[xs[i]->name].at_double(k) - eps);
      double numeric = (run_reference(g, plus)[0].at_double(0) - run_reference(g, minus)[0].at_double(0)) / (2 * eps);
      CHECK(std::fabs(grad.at_double(k) - numeric) <= 1e-5 + 1e-3 * std::fabs(numeric));
    }
  }
}

}  // namespace

TEST_CASE("gradient rules of element-wise ops match finite differences") {
  check_gradient(OpKind::Identity, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Neg, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Relu, {{3, 5}}, {3, 5});
  check_gradient(OpKind::Sigmoid, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Tanh, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Exp, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Log, {{2, 3}}, {2, 3}, 0.5, 2);
  check_gradient(OpKind::Sqrt, {{2, 3}}, {2, 3}, 0.5, 2);
}

TEST_CASE("gradient rules of broadcasting binary ops sum over the broadcast axes") {
  for (OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul}) {
    check_gradient(op, {{2, 3}, {2, 3}}, {2, 3});
    check_gradient(op, {{2, 3}, {3}}, {2, 3});
    check_gradient(op, {{2, 1}, {1, 3}}, {2, 3});
  }
  check_gradient(OpKind::Div, {{2, 3}, {1, 3}}, {2, 3}, 0.5, 2);
}

TEST_CASE("reductions spread the gradient back over the reduced axes") {
  check_gradient(OpKind::ReduceSum, {{2, 3}}, {});
  check_gradient(OpKind::ReduceMean, {{2, 3}}, {});
}

TEST_CASE("MatMul's gradient: dA = dY Bt, dB = At dY, batch broadcast summed") {
  check_gradient(OpKind::MatMul, {{2, 3}, {3, 4}}, {2, 4});
  check_gradient(OpKind::MatMul, {{2, 2, 3}, {3, 4}}, {2, 2, 4});
}

TEST_CASE("a value used twice gets the sum of both paths' gradients") {
  // y = x * x: dy/dx = 2x
  Graph g;
  Value* x = g.add_input("x", DType::Float64, {Dim::fixed(3)});
  Node* sq = g.add_node(OpKind::Mul, {x, x}, 1, "sq");
  sq->outputs[0]->dtype = DType::Float64;
  sq->outputs[0]->dims = x->dims;
  g.outputs = {sq->outputs[0]};
  g.outputs.push_back(build_gradients(g, sq->outputs[0], {x})[0]);
  Tensor in(DType::Float64, {3});
  for (int i = 0; i < 3; ++i) in.set_double(i, i - 1.5);
  auto out = run_reference(g, {{"x", in}});
  for (int i = 0; i < 3; ++i) CHECK(out[1].at_double(i) == Catch::Detail::Approx(2 * (i - 1.5)));
}

TEST_CASE("an op without a gradient rule is a clear error naming the node") {
  Graph g;
  Value* x = g.add_input("x", DType::Float32, {Dim::fixed(3)});
  Node* n = g.add_node(OpKind::Floor, {x}, 1, "floor_node");
  n->outputs[0]->dtype = DType::Float32;
  g.outputs = {n->outputs[0]};
  CHECK_THROWS_WITH(build_gradients(g, n->outputs[0], {x}), Catch::Contains("floor_node") && Catch::Contains("no gradient rule"));
}
