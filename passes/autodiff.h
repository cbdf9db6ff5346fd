// Reverse-mode autodiff on the IR (DESIGN.md principle 4): the gradient table
// (passes/gradient_table.cpp) gives each differentiable op's input gradients as IR ops, and
// one reverse walk (passes/autodiff.cpp) chains them into the backward graph.
//
//   y = f(x)        -->   y = f(x);  dx = <ops of f's gradient rule>(x, y, dy)
//
// Gradients of one value reached along several paths are summed; a broadcast operand's
// gradient is summed over the broadcast axes (which needs static shapes).
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace nnc {

// Emits the ops of a gradient rule into the graph, typed like the forward values they mirror.
class GradientBuilder {
 public:
  explicit GradientBuilder(Graph& g) : g_(g) {}
  // A new node's single output, with `like`'s dtype and dims (when like is given).
  Value* op(OpKind op, const std::vector<Value*>& inputs, const Value* like, Attributes attrs = {});
  // A new node's single output of the given dtype (dims left to the kernels).
  Value* op(OpKind op, const std::vector<Value*>& inputs, DType dtype, Attributes attrs = {});
  Value* add(Value* a, Value* b, const Value* like) { return op(OpKind::Add, {a, b}, like); }
  Value* sub(Value* a, Value* b, const Value* like) { return op(OpKind::Sub, {a, b}, like); }
  Value* mul(Value* a, Value* b, const Value* like) { return op(OpKind::Mul, {a, b}, like); }
  Value* div(Value* a, Value* b, const Value* like) { return op(OpKind::Div, {a, b}, like); }
  // A scalar constant of like's dtype.
  Value* scalar(double v, const Value* like);
  // A tensor of like's shape (taken at run time) filled with v.
  Value* filled_like(double v, const Value* like);
  // grad has the shape of `out`, which broadcast `in`: sums it down to in's shape.
  Value* unbroadcast(Value* grad, const Value* out, const Value* in);
  // An int64 vector constant (shapes, axes, pads).
  Value* ints(const std::vector<int64_t>& v);
  // v reshaped to a static shape (the result typed with it).
  Value* reshape(Value* v, const Shape& shape);
  // ReduceSum over the given axes (all axes when empty).
  Value* reduce_sum(Value* v, const std::vector<int64_t>& axes, bool keepdims);
  // Swaps the last two axes (for MatMul's rule).
  Value* transpose_last2(Value* v, const Value* like);
  Graph& graph() { return g_; }

 private:
  Graph& g_;
};

// The gradient rule of n's op: given the gradients of n's outputs (nullptr where an output
// has none), the gradients of its inputs (nullptr for an input with no gradient, such as an
// index or a shape). Throws nnc::Error naming the node when the op has no rule.
std::vector<Value*> gradient_of(GradientBuilder& b, const Node& n, const std::vector<Value*>& output_grads);

// Appends the ops computing d(sum of y·dy)/dx for each x (dy: ones when null). An x that y
// does not depend on gets zeros.
std::vector<Value*> build_gradients(Graph& g, Value* y, const std::vector<Value*>& xs, Value* dy = nullptr);

// Replaces each ai.onnx.preview.training Gradient node (attributes xs, y) by the backward ops
// build_gradients makes; the node's outputs keep their names. Returns whether any was found.
bool expand_gradient_ops(Graph& g);

}  // namespace nnc
