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

// One op under test: differentiable inputs of the given shapes (random in [lo, hi]), constant
// inputs after them (shapes, axes), attributes, and the shapes of its outputs.
struct GradCase {
  OpKind op;
  std::vector<Shape> inputs;
  std::vector<Shape> outputs;
  Attributes attrs = {};
  std::vector<Tensor> constants = {};
  double lo = -2, hi = 2;
};

Value* typed(Value* v, const Shape& s) {
  v->dtype = DType::Float64;
  v->dims = static_dims(s);
  return v;
}

// loss = Σ_k ReduceSum(output_k · w_k) for fixed random w_k; checks d loss / d x_i.
void check_gradient(const GradCase& c) {
  std::mt19937 rng(42);
  Graph g;
  std::vector<Value*> xs, ins;
  TensorMap feeds;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    std::string name = "x" + std::to_string(i);
    xs.push_back(g.add_input(name, DType::Float64, static_dims(c.inputs[i])));
    feeds[name] = random_tensor(c.inputs[i], rng, c.lo, c.hi);
  }
  ins = xs;
  for (size_t i = 0; i < c.constants.size(); ++i) ins.push_back(g.add_initializer("c" + std::to_string(i), c.constants[i]));
  Node* n = g.add_node(c.op, ins, static_cast<int>(c.outputs.size()), "op", c.attrs);
  Value* loss = nullptr;
  Attributes keep;
  keep.set("keepdims", int64_t{0});
  for (size_t k = 0; k < c.outputs.size(); ++k) {
    Value* w = g.add_initializer("w" + std::to_string(k), random_tensor(c.outputs[k], rng, -1, 1));
    Value* weighted = typed(g.add_node(OpKind::Mul, {typed(n->outputs[k], c.outputs[k]), w}, 1)->outputs[0], c.outputs[k]);
    Value* part = typed(g.add_node(OpKind::ReduceSum, {weighted}, 1, "", keep)->outputs[0], {});
    loss = loss ? typed(g.add_node(OpKind::Add, {loss, part}, 1)->outputs[0], {}) : part;
  }
  g.outputs = {loss};
  std::vector<Value*> grads = build_gradients(g, loss, xs);
  for (Value* gv : grads) g.outputs.push_back(gv);

  std::vector<Tensor> analytic = run_reference(g, feeds);
  const double eps = 1e-6;
  for (size_t i = 0; i < xs.size(); ++i) {
    INFO(op_name(c.op) << " input " << i);
    const Tensor& grad = analytic[1 + i];
    REQUIRE(grad.shape() == c.inputs[i]);
    for (int64_t k = 0; k < grad.numel(); ++k) {
      TensorMap plus = feeds, minus = feeds;
      plus[xs[i]->name].set_double(k, feeds[xs[i]->name].at_double(k) + eps);
      minus[xs[i]->name].set_double(k, feeds[xs[i]->name].at_double(k) - eps);
      double numeric = (run_reference(g, plus)[0].at_double(0) - run_reference(g, minus)[0].at_double(0)) / (2 * eps);
      CHECK(std::fabs(grad.at_double(k) - numeric) <= 1e-5 + 1e-3 * std::fabs(numeric));
    }
  }
}

void check_gradient(OpKind op, const std::vector<Shape>& shapes, const Shape& out_shape, double lo = -2, double hi = 2) {
  check_gradient(GradCase{op, shapes, {out_shape}, {}, {}, lo, hi});
}

Attributes with(const std::string& name, AttrValue v) {
  Attributes a;
  a.set(name, std::move(v));
  return a;
}

Tensor int64s(std::vector<int64_t> v) { return Tensor::from_int64s(v, {static_cast<int64_t>(v.size())}); }

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

TEST_CASE("gradient rules of the activations match finite differences") {
  // (ranges keep away from the kinks, where the one-sided slopes differ)
  check_gradient(GradCase{OpKind::LeakyRelu, {{2, 3}}, {{2, 3}}, with("alpha", 0.1f)});
  check_gradient(GradCase{OpKind::Elu, {{2, 3}}, {{2, 3}}, with("alpha", 0.7f)});
  for (OpKind op : {OpKind::Softplus, OpKind::Softsign, OpKind::Silu, OpKind::Gelu}) check_gradient(op, {{2, 3}}, {2, 3});
  check_gradient(GradCase{OpKind::HardSigmoid, {{2, 3}}, {{2, 3}}, with("alpha", 0.3f), {}, -4, 4});
  check_gradient(OpKind::Abs, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Pow, {{2, 3}, {3}}, {2, 3}, 0.5, 2);
}

TEST_CASE("Softmax and LogSoftmax gradients, over the last and a middle axis") {
  for (OpKind op : {OpKind::Softmax, OpKind::LogSoftmax}) {
    check_gradient(op, {{2, 4}}, {2, 4});
    check_gradient(GradCase{op, {{2, 3, 2}}, {{2, 3, 2}}, with("axis", int64_t{1})});
  }
}

TEST_CASE("movement ops move the gradient back: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split") {
  check_gradient(GradCase{OpKind::Reshape, {{2, 3}}, {{3, 2}}, {}, {int64s({3, 2})}});
  check_gradient(GradCase{OpKind::Flatten, {{2, 3, 2}}, {{2, 6}}});
  check_gradient(GradCase{OpKind::Squeeze, {{2, 1, 3}}, {{2, 3}}, {}, {int64s({1})}});
  check_gradient(GradCase{OpKind::Unsqueeze, {{2, 3}}, {{2, 1, 3}}, {}, {int64s({1})}});
  check_gradient(GradCase{OpKind::Transpose, {{2, 3, 4}}, {{4, 2, 3}}, with("perm", std::vector<int64_t>{2, 0, 1})});
  check_gradient(GradCase{OpKind::Concat, {{2, 3}, {2, 1}}, {{2, 4}}, with("axis", int64_t{1})});
  check_gradient(GradCase{OpKind::Split, {{5, 2}}, {{2, 2}, {3, 2}}, with("axis", int64_t{0}), {int64s({2, 3})}});
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
