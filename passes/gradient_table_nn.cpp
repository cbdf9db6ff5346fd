// The gradient table's second half: activations (with PRelu, Clip, Gate and Max/Min),
// Softmax/LogSoftmax and the movement ops (whose gradients move dy back the way the data
// came). See passes/gradient_table.cpp.
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

// Gate y = u·act(g) (u, g: the inputs, or x's halves along "axis"):  du = dy·act(g),
// dg = act'(g)·(dy·u) by act's own rule, run on act(g) rebuilt here; one input: dx = [du, dg].
std::vector<Value*> gate_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value* x = n.input(0);
  Value* y = n.outputs[0];
  Value* u = x;
  Value* g = n.input(1);
  int64_t axis = 0, half = 0;
  if (!g) {
    axis = n.attrs.get_int("axis", 0);
    if (axis < 0) axis += rank_of(n, x);
    half = static_axis_size(n, x, axis) / 2;
    u = b.op(OpKind::Slice, {x, int64s(b, {0}), int64s(b, {half}), int64s(b, {axis})}, y);
    g = b.op(OpKind::Slice, {x, int64s(b, {half}), int64s(b, {2 * half}), int64s(b, {axis})}, y);
  }
  std::string name = n.attrs.get_string("activation", "");
  Value* act = g;
  Value* dg = b.mul(dy, u, y);
  if (!name.empty()) {
    std::optional<OpKind> k = find_op("", name);
    if (!k) k = find_op(kNncDomain, name);
    if (!k || *k == OpKind::PRelu) throw Error("autodiff: " + n.label() + ": no gradient for the gate activation '" + name + "'");
    const OpInfo& info = op_info(*k);
    float alpha = n.attrs.get_float("activation_alpha", static_cast<float>(info.default_a));
    float beta = n.attrs.get_float("activation_beta", static_cast<float>(info.default_b));
    Attributes attrs;
    if (*info.attr_a) attrs.set(info.attr_a, alpha);
    if (*info.attr_b) attrs.set(info.attr_b, beta);
    act = *k == OpKind::Clip ? b.op(*k, {g, b.scalar(alpha, g), b.scalar(beta, g)}, y)
                             : b.op(*k, {g}, y, std::move(attrs));
    dg = gradient_of(b, *act->producer, {dg}).at(0);
  }
  Value* du = b.mul(dy, act, y);
  if (n.input(1)) return {du, dg};
  Attributes attrs;
  attrs.set("axis", axis);
  return {b.op(OpKind::Concat, {du, dg}, x, std::move(attrs))};
}

// Max/Min: dy goes to the first input equal to y (ties: the earliest), unbroadcast.
std::vector<Value*> select_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value* y = n.outputs[0];
  Value* taken = nullptr;
  std::vector<Value*> grads;
  for (Value* in : n.inputs) {
    Value* hit = bool_op(b, OpKind::Equal, {in, y});
    if (taken) hit = bool_op(b, OpKind::And, {hit, bool_op(b, OpKind::Not, {taken})});
    taken = taken ? bool_op(b, OpKind::Or, {taken, hit}) : hit;
    grads.push_back(b.unbroadcast(b.op(OpKind::Where, {hit, dy, b.scalar(0, y)}, y), y, in));
  }
  return grads;
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
    // celu' = 1 if x >= 0 else exp(x/α);  selu' = γ if x > 0 else y + γα
    case OpKind::Celu:
      return std::vector<Value*>{b.op(OpKind::Where, {bool_op(b, OpKind::GreaterOrEqual, {x, zero()}), dy,
                                                      b.mul(dy, b.op(OpKind::Exp, {b.div(x, b.scalar(attr_a(n), x), x)}, x), x)}, x)};
    case OpKind::Selu:
      return std::vector<Value*>{b.op(OpKind::Where, {bool_op(b, OpKind::Greater, {x, zero()}), b.mul(dy, b.scalar(attr_b(n), x), x),
                                                      b.mul(dy, b.add(y, b.scalar(double{attr_a(n)} * attr_b(n), x), x), x)}, x)};
    // thresholded-relu' = [x > α];  shrink' = [|x| > λ]
    case OpKind::ThresholdedRelu:
      return std::vector<Value*>{b.op(OpKind::Where, {bool_op(b, OpKind::Greater, {x, b.scalar(attr_a(n), x)}), dy, zero()}, x)};
    case OpKind::Shrink:
      return std::vector<Value*>{
          b.op(OpKind::Where, {bool_op(b, OpKind::Greater, {b.op(OpKind::Abs, {x}, x), b.scalar(attr_b(n), x)}), dy, zero()}, x)};
    // hardswish' = 0 if x < −3, 1 if x > 3, else x/3 + 1/2
    case OpKind::HardSwish: {
      Value* mid = b.mul(dy, b.add(b.div(x, b.scalar(3, x), x), b.scalar(0.5, x), x), x);
      Value* upper = b.op(OpKind::Where, {bool_op(b, OpKind::Greater, {x, b.scalar(3, x)}), dy, mid}, x);
      return std::vector<Value*>{b.op(OpKind::Where, {bool_op(b, OpKind::Less, {x, b.scalar(-3, x)}), zero(), upper}, x)};
    }
    // mish' = t + x·(1 − t²)·σ(x), t = tanh(softplus(x))
    case OpKind::Mish: {
      Value* t = b.op(OpKind::Tanh, {b.op(OpKind::Softplus, {x}, x)}, x);
      Value* dt = b.mul(b.sub(b.scalar(1, x), b.mul(t, t, x), x), b.op(OpKind::Sigmoid, {x}, x), x);
      return std::vector<Value*>{b.mul(dy, b.add(t, b.mul(x, dt, x), x), x)};
    }
    // gelu-tanh' = (1 + t)/2 + x·(1 − t²)·c·(1 + 3·0.044715·x²)/2, t = tanh(c·(x + 0.044715·x³)), c = √(2/π)
    case OpKind::GeluTanh: {
      const double c = std::sqrt(2 / M_PI), k = 0.044715;
      Value* x2 = b.mul(x, x, x);
      Value* t = b.op(OpKind::Tanh, {b.mul(b.scalar(c, x), b.add(x, b.mul(b.scalar(k, x), b.mul(x2, x, x), x), x), x)}, x);
      Value* du = b.mul(b.scalar(c, x), b.add(b.scalar(1, x), b.mul(b.scalar(3 * k, x), x2, x), x), x);
      Value* d = b.add(b.add(b.scalar(1, x), t, x), b.mul(x, b.mul(b.sub(b.scalar(1, x), b.mul(t, t, x), x), du, x), x), x);
      return std::vector<Value*>{b.mul(dy, b.mul(b.scalar(0.5, x), d, x), x)};
    }
    // prelu: dx = dy if x >= 0 else dy·slope;  dslope = dy·x where x < 0 (both unbroadcast)
    case OpKind::PRelu: {
      Value* slope = n.input(1);
      Value* neg = bool_op(b, OpKind::Less, {x, zero()});
      Value* dx = b.op(OpKind::Where, {neg, b.mul(dy, slope, y), dy}, y);
      Value* ds = b.op(OpKind::Where, {neg, b.mul(dy, x, y), b.scalar(0, y)}, y);
      return std::vector<Value*>{b.unbroadcast(dx, y, x), b.unbroadcast(ds, y, slope)};
    }
    // clip' = [min < x < max] (bounds: inputs, or attributes before opset 11); no gradient for min, max
    case OpKind::Clip: {
      Value* inside = nullptr;
      for (int i : {1, 2}) {
        const char* attr = i == 1 ? "min" : "max";
        Value* bound = b.graph().opset >= 11 ? n.input(static_cast<size_t>(i))
                       : n.attrs.has(attr) ? b.scalar(n.attrs.get_float(attr, 0), x) : nullptr;
        if (!bound) continue;
        Value* in = bool_op(b, i == 1 ? OpKind::Greater : OpKind::Less, {x, bound});
        inside = inside ? bool_op(b, OpKind::And, {inside, in}) : in;
      }
      return std::vector<Value*>{inside ? b.op(OpKind::Where, {inside, dy, zero()}, x) : dy, nullptr, nullptr};
    }
    case OpKind::Gate: return gate_gradient(b, n, dy);
    case OpKind::Max:
    case OpKind::Min: return select_gradient(b, n, dy);
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
