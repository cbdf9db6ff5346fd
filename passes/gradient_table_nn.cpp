// The gradient table's second half: activations, Softmax/LogSoftmax and the movement ops
// (whose gradients move dy back the way the data came). See passes/gradient_table.cpp.
#include <cmath>

#include "ir/error.h"
#include "passes/autodiff.h"
#include "passes/gradient_table_parts.h"
#include "passes/pattern.h"

namespace nnc {
namespace {

float attr_a(const Node& n) { return n.attrs.get_float(op_info(n.op).attr_a, static_cast<float>(op_info(n.op).default_a)); }
float attr_b(const Node& n) { return n.attrs.get_float(op_info(n.op).attr_b, static_cast<float>(op_info(n.op).default_b)); }

Value* bool_op(GradientBuilder& b, OpKind op, const std::vector<Value*>& ins) { return b.op(op, ins, DType::Bool); }

Value* int64s(GradientBuilder& b, const std::vector<int64_t>& v) {
  return add_constant(b.graph(), "grad_ints", Tensor::from_int64s(v, {static_cast<int64_t>(v.size())}));
}

// ReduceSum over one axis, keeping it.
Value* sum_over(GradientBuilder& b, Value* v, int64_t axis, const Value* like) {
  Attributes attrs;
  attrs.set("keepdims", int64_t{1});
  return b.op(OpKind::ReduceSum, {v, int64s(b, {axis})}, like->dtype, std::move(attrs));
}

int64_t static_axis_size(const Node& n, const Value* v, int64_t axis) {
  if (!v->dims || axis < 0 || axis >= static_cast<int64_t>(v->dims->size()) || !(*v->dims)[static_cast<size_t>(axis)].is_static())
    throw Error("autodiff: " + n.label() + ": needs the static size of axis " + std::to_string(axis) + " of '" + v->name + "'");
  return (*v->dims)[static_cast<size_t>(axis)].value;
}

int64_t rank_of(const Node& n, const Value* v) {
  if (!v->dims) throw Error("autodiff: " + n.label() + ": needs the rank of '" + v->name + "'");
  return static_cast<int64_t>(v->dims->size());
}

}  // namespace

std::optional<std::vector<Value*>> activation_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value* x = n.input(0);
  Value* y = n.outputs[0];
  auto zero = [&] { return b.scalar(0, x); };
  switch (n.op) {
    // leaky'(x) = 1 if x >= 0 else α;  elu'(x) = 1 if x >= 0 else y + α
    case OpKind::LeakyRelu:
      return std::vector<Value*>{b.op(OpKind::Where, {bool_op(b, OpKind::GreaterOrEqual, {x, zero()}), dy, b.mul(dy, b.scalar(attr_a(n), x), x)}, x)};
    case OpKind::Elu:
      return std::vector<Value*>{b.op(OpKind::Where, {bool_op(b, OpKind::GreaterOrEqual, {x, zero()}), dy,
                                                      b.mul(dy, b.add(y, b.scalar(attr_a(n), x), x), x)}, x)};
    // softplus' = σ(x);  softsign' = 1 / (1 + |x|)²
    case OpKind::Softplus: return std::vector<Value*>{b.mul(dy, b.op(OpKind::Sigmoid, {x}, x), x)};
    case OpKind::Softsign: {
      Value* d = b.add(b.scalar(1, x), b.op(OpKind::Abs, {x}, x), x);
      return std::vector<Value*>{b.div(dy, b.mul(d, d, x), x)};
    }
    // hardsigmoid' = α inside the linear part (0 < αx + β < 1), 0 outside
    case OpKind::HardSigmoid: {
      Value* z = b.add(b.mul(x, b.scalar(attr_a(n), x), x), b.scalar(attr_b(n), x), x);
      Value* inside = bool_op(b, OpKind::And, {bool_op(b, OpKind::Greater, {z, zero()}), bool_op(b, OpKind::Less, {z, b.scalar(1, x)})});
      return std::vector<Value*>{b.op(OpKind::Where, {inside, b.mul(dy, b.scalar(attr_a(n), x), x), zero()}, x)};
    }
    // silu' = σ(x)·(1 + x·(1 − σ(x)))
    case OpKind::Silu: {
      Value* s = b.op(OpKind::Sigmoid, {x}, x);
      Value* inner = b.add(b.scalar(1, x), b.mul(x, b.sub(b.scalar(1, x), s, x), x), x);
      return std::vector<Value*>{b.mul(dy, b.mul(s, inner, x), x)};
    }
    // gelu' = Φ(x) + x·φ(x), Φ(x) = (1 + erf(x/√2))/2, φ(x) = exp(−x²/2)/√(2π)
    case OpKind::Gelu: {
      Value* cdf = b.mul(b.scalar(0.5, x), b.add(b.scalar(1, x), b.op(OpKind::Erf, {b.mul(x, b.scalar(M_SQRT1_2, x), x)}, x), x), x);
      Value* pdf = b.mul(b.op(OpKind::Exp, {b.mul(b.mul(x, x, x), b.scalar(-0.5, x), x)}, x), b.scalar(1 / std::sqrt(2 * M_PI), x), x);
      return std::vector<Value*>{b.mul(dy, b.add(cdf, b.mul(x, pdf, x), x), x)};
    }
    case OpKind::Abs: return std::vector<Value*>{b.mul(dy, b.op(OpKind::Sign, {x}, x), x)};
    // softmax: dx = y·(dy − Σ dy·y);  log-softmax: dx = dy − exp(y)·Σ dy  (sums over the axis)
    case OpKind::Softmax: {
      int64_t axis = n.attrs.get_int("axis", -1);
      if (axis < 0) axis += rank_of(n, x);
      Value* s = sum_over(b, b.mul(dy, y, y), axis, y);
      return std::vector<Value*>{b.mul(y, b.sub(dy, s, y), x)};
    }
    case OpKind::LogSoftmax: {
      int64_t axis = n.attrs.get_int("axis", -1);
      if (axis < 0) axis += rank_of(n, x);
      return std::vector<Value*>{b.sub(dy, b.mul(b.op(OpKind::Exp, {y}, y), sum_over(b, dy, axis, y), y), x)};
    }
    default: return std::nullopt;
  }
}

std::optional<std::vector<Value*>> movement_gradient(GradientBuilder& b, const Node& n, const std::vector<Value*>& dys) {
  Value* x = n.input(0);
  Value* dy = dys.empty() ? nullptr : dys[0];
  switch (n.op) {
    // Only the layout changed: dy reshaped to x's shape (taken at run time).
    case OpKind::Reshape:
    case OpKind::Flatten:
    case OpKind::Squeeze:
    case OpKind::Unsqueeze: {
      Value* shape = b.op(OpKind::Shape, {x}, DType::Int64);
      return std::vector<Value*>{b.op(OpKind::Reshape, {dy, shape}, x)};
    }
    // Transpose back with the inverse permutation.
    case OpKind::Transpose: {
      std::vector<int64_t> perm = n.attrs.get_ints("perm");
      if (perm.empty()) for (int64_t i = rank_of(n, x) - 1; i >= 0; --i) perm.push_back(i);
      std::vector<int64_t> inverse(perm.size());
      for (size_t i = 0; i < perm.size(); ++i) inverse.at(static_cast<size_t>(perm[i])) = static_cast<int64_t>(i);
      Attributes attrs;
      attrs.set("perm", inverse);
      return std::vector<Value*>{b.op(OpKind::Transpose, {dy}, x, std::move(attrs))};
    }
    // Concat: each input gets its slice of dy along the axis.
    case OpKind::Concat: {
      int64_t axis = n.attrs.get_int("axis", 0);
      if (axis < 0) axis += rank_of(n, x);
      std::vector<Value*> grads;
      int64_t offset = 0;
      for (Value* in : n.inputs) {
        int64_t len = static_axis_size(n, in, axis);
        grads.push_back(b.op(OpKind::Slice, {dy, int64s(b, {offset}), int64s(b, {offset + len}), int64s(b, {axis})}, in));
        offset += len;
      }
      return grads;
    }
    // Split: the outputs' gradients concatenated (zeros for an output with none).
    case OpKind::Split: {
      int64_t axis = n.attrs.get_int("axis", 0);
      if (axis < 0) axis += rank_of(n, x);
      std::vector<Value*> parts;
      for (size_t i = 0; i < n.outputs.size(); ++i)
        parts.push_back(i < dys.size() && dys[i] ? dys[i] : b.filled_like(0, n.outputs[i]));
      Attributes attrs;
      attrs.set("axis", axis);
      return std::vector<Value*>{b.op(OpKind::Concat, parts, x, std::move(attrs))};
    }
    default: return std::nullopt;
  }
}

}  // namespace nnc
