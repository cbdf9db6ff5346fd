// The finite-difference gradient check shared by the autodiff tests: analytic gradients from
// build_gradients against central differences in float64 (eps 1e-6, rtol 1e-3, atol 1e-5).
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "passes/autodiff.h"
#include "runtime/interpreter.h"

namespace nnc::testing {


inline Tensor random_tensor(const Shape& s, std::mt19937& rng, double lo, double hi) {
  Tensor t(DType::Float64, s);
  std::uniform_real_distribution<double> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, d(rng));
  return t;
}

inline Dims static_dims(const Shape& s) {
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

inline Value* typed(Value* v, const Shape& s) {
  v->dtype = DType::Float64;
  v->dims = static_dims(s);
  return v;
}

// loss = Σ_k ReduceSum(output_k · w_k) for fixed random w_k; checks d loss / d x_i.
inline void check_gradient(const GradCase& c) {
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

inline void check_gradient(OpKind op, const std::vector<Shape>& shapes, const Shape& out_shape, double lo = -2, double hi = 2) {
  check_gradient(GradCase{op, shapes, {out_shape}, {}, {}, lo, hi});
}

inline Attributes with(const std::string& name, AttrValue v) {
  Attributes a;
  a.set(name, std::move(v));
  return a;
}

inline Tensor int64s(std::vector<int64_t> v) { return Tensor::from_int64s(v, {static_cast<int64_t>(v.size())}); }

inline Tensor float64(double v) {
  Tensor t(DType::Float64, {});
  t.set_double(0, v);
  return t;
}

// check_gradient over each input range in turn (ranges that stay clear of an op's kinks).
inline void check_gradient_on(GradCase c, std::initializer_list<std::pair<double, double>> ranges) {
  for (auto [lo, hi] : ranges) {
    INFO("inputs in [" << lo << ", " << hi << "]");
    c.lo = lo, c.hi = hi;
    check_gradient(c);
  }
}

}  // namespace nnc::testing
