// Lowerings of the element-wise ops, generated from the scalar bodies in ir/ops.def (the
// same text the reference kernels instantiate, here with Halide Exprs), plus Clip, Where,
// Cast, CastLike and the gate of the GLU family.
#include "codegen/cpu/halide_math.h"
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

// The index into an input of shape `in` broadcast (numpy rules) to an output index.
Exprs broadcast_index(const Shape& in, const Shape& out, const Exprs& idx) {
  Exprs r;
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) r.push_back(in[i] == 1 && out[off + i] != 1 ? Expr(0) : idx[off + i]);
  return r;
}

Expr broadcast_at(const TensorFunc& t, const Shape& out, const Exprs& idx) {
  return t.at(broadcast_index(t.shape, out, idx));
}

namespace {

using namespace nnc::hm;

float float_attr(const LowerContext& ctx, const char* name, double def) {
  return *name ? ctx.attrs().get_float(name, static_cast<float>(def)) : static_cast<float>(def);
}

// Half-precision values are computed in float32 (as the reference kernels do); define()
// rounds the result back to the output's type.
Expr widened(Expr e) { return e.type().is_float() && e.type().bits() == 16 ? Halide::cast<float>(e) : e; }

template <class Body>
std::vector<TensorFunc> lower_unary(LowerContext& ctx, Body body) {
  const TensorFunc& x = ctx.in(0);
  halide_type(x.dtype);  // NotLowerable for types without compiled kernels
  return {define(ctx.node.name, ctx.out_shape(), ctx.out_dtype(), [&](const Exprs& i) { return body(widened(x.at(i))); })};
}

// Folds all inputs left with body (Max, Min, Sum, Mean are variadic), broadcasting each.
template <class Body>
std::vector<TensorFunc> lower_binary(LowerContext& ctx, Body body) {
  const Shape& out = ctx.out_shape();
  for (size_t k = 0; k < ctx.num_inputs(); ++k) halide_type(ctx.in(k).dtype);
  return {define(ctx.node.name, out, ctx.out_dtype(), [&](const Exprs& i) {
    Expr acc = widened(broadcast_at(ctx.in(0), out, i));
    for (size_t k = 1; k < ctx.num_inputs(); ++k) acc = body(acc, widened(broadcast_at(ctx.in(k), out, i)));
    if (ctx.node.op == OpKind::Mean) acc = acc / Halide::cast(acc.type(), static_cast<int>(ctx.num_inputs()));
    return acc;
  })};
}

}  // namespace

#define NNC_OP(E, N, D, C)
#define NNC_UNARY(E, N, D, TY, OUT, A, AD, B, BD, BODY)                                 \
  std::vector<TensorFunc> lower_##E(LowerContext& ctx) {                                 \
    [[maybe_unused]] float a = float_attr(ctx, A, AD), b = float_attr(ctx, B, BD);       \
    return lower_unary(ctx, [&](Expr x) -> Expr { return BODY; });                       \
  }
#define NNC_BINARY(E, N, TY, OUT, A, AD, BODY)                                           \
  std::vector<TensorFunc> lower_##E(LowerContext& ctx) {                                 \
    [[maybe_unused]] float a = float_attr(ctx, A, AD);                                   \
    return lower_binary(ctx, [&](Expr x, Expr y) -> Expr { return BODY; });              \
  }
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH)
#include "ir/ops.def"

#define NNC_OP(E, N, D, C)
#define NNC_ACTIVATION(E, N, D, TY, OUT, A, AD, B, BD, BODY) \
  if (name == N) return [&](Expr x) -> Expr { return BODY; }(x);
#define NNC_UNARY(E, N, D, TY, OUT, A, AD, B, BD, BODY)
#define NNC_BINARY(E, N, TY, OUT, A, AD, BODY)
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH)
Expr activation_expr(const LowerContext& ctx, const std::string& name, Expr x, float a, float b, Expr slope) {
  if (name.empty()) return x;
  if (name == "Clip") return Halide::min(Halide::max(x, Halide::cast(x.type(), a)), Halide::cast(x.type(), b));
  if (name == "PRelu") return Halide::select(x < 0, slope * x, x);
#include "ir/ops.def"
  ctx.unsupported("activation " + name);
}

Expr fused_activation(const LowerContext& ctx, Expr x, const Exprs& index, const Shape& shape, size_t slope_input) {
  std::string name = ctx.attrs().get_string("activation", "");
  if (name.empty()) return x;
  auto k = find_op("", name);
  if (!k) k = find_op(kNncDomain, name);
  double da = k ? op_info(*k).default_a : 0, db = k ? op_info(*k).default_b : 0;
  float a = ctx.attrs().get_float("activation_alpha", static_cast<float>(da));
  float b = ctx.attrs().get_float("activation_beta", static_cast<float>(db));
  Expr slope;
  if (name == "PRelu") slope = broadcast_at(ctx.in(slope_input), shape, index);
  return activation_expr(ctx, name, x, a, b, slope);
}

std::vector<TensorFunc> lower_Clip(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  Halide::Type t = halide_type(x.dtype);
  Expr lo = lowest_value(x.dtype), hi = highest_value(x.dtype);
  if (ctx.num_inputs() == 1 || ctx.node.inputs.size() == 1) {  // opset < 11 keeps the bounds in attributes
    if (ctx.attrs().has("min")) lo = Halide::cast(t, ctx.attrs().get_float("min", 0));
    if (ctx.attrs().has("max")) hi = Halide::cast(t, ctx.attrs().get_float("max", 0));
  }
  // Bounds given as tensors are scalars; read at run time.
  if (ctx.has_input(1)) lo = ctx.in(1).at({});
  if (ctx.has_input(2)) hi = ctx.in(2).at({});
  return {define(ctx.node.name, ctx.out_shape(), ctx.out_dtype(), [&](const Exprs& i) {
    return Halide::min(Halide::max(x.at(i), lo), hi);
  })};
}

std::vector<TensorFunc> lower_Where(LowerContext& ctx) {
  const Shape& out = ctx.out_shape();
  const TensorFunc &c = ctx.in(0), &x = ctx.in(1), &y = ctx.in(2);
  halide_type(x.dtype);
  return {define(ctx.node.name, out, ctx.out_dtype(), [&](const Exprs& i) {
    return Halide::select(broadcast_at(c, out, i) != Halide::cast(halide_type(c.dtype), 0),
                          broadcast_at(x, out, i), broadcast_at(y, out, i));
  })};
}

namespace {
std::vector<TensorFunc> lower_cast_to(LowerContext& ctx, DType to) {
  const TensorFunc& x = ctx.in(0);
  Halide::Type from = halide_type(x.dtype), t = halide_type(to);
  return {define(ctx.node.name, ctx.out_shape(), to, [&](const Exprs& i) {
    Expr v = x.at(i);
    if (t.is_bool()) return v != Halide::cast(from, 0);
    // Float to integer: C++ truncates toward zero, as the reference does.
    return Halide::cast(t, v);
  })};
}
}  // namespace

// Float to integer truncates toward zero, like the reference (both compile to the same x86
// conversion, so even out-of-range values agree).
std::vector<TensorFunc> lower_Cast(LowerContext& ctx) { return lower_cast_to(ctx, ctx.out_dtype()); }
std::vector<TensorFunc> lower_CastLike(LowerContext& ctx) { return lower_Cast(ctx); }

std::vector<TensorFunc> lower_Identity(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  return {define(ctx.node.name, ctx.out_shape(), ctx.out_dtype(), [&](const Exprs& i) { return x.at(i); })};
}

// Dropout in inference mode: y = x, and the mask (when asked for) all true. Training mode
// draws random numbers and stays on the reference kernel.
std::vector<TensorFunc> lower_Dropout(LowerContext& ctx) {
  if (ctx.has_input(2)) {
    std::vector<int64_t> training = ctx.const_ints(2);
    ctx.require(training.empty() || training[0] == 0, "training-mode dropout is random");
  }
  const TensorFunc& x = ctx.in(0);
  std::vector<TensorFunc> out = {define(ctx.node.name, ctx.out_shape(0), ctx.out_dtype(0), [&](const Exprs& i) { return x.at(i); })};
  if (ctx.num_outputs() > 1)
    out.push_back(define(ctx.node.name + "_mask", ctx.out_shape(1), DType::Bool, [](const Exprs&) { return Expr(true); }));
  return out;
}

// Unsigned shifts; shifting by the bit width or more gives 0, as in the reference.
std::vector<TensorFunc> lower_BitShift(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &n = ctx.in(1);
  Halide::Type t = halide_type(x.dtype);
  ctx.require(t.is_uint() && n.dtype == x.dtype, "BitShift needs unsigned integers");
  bool left = ctx.attrs().get_string("direction", "") == "LEFT";
  const Shape& out = ctx.out_shape();
  return {define(ctx.node.name, out, ctx.out_dtype(), [&](const Exprs& i) {
    Expr v = broadcast_at(x, out, i), k = broadcast_at(n, out, i);
    Expr shifted = left ? (v << k) : (v >> k);
    return Halide::select(k >= Halide::cast(t, t.bits()), Halide::cast(t, 0), shifted);
  })};
}

// y = u * activation(g); u and g given, or halves of one input along "axis".
std::vector<TensorFunc> lower_Gate(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  halide_type(x.dtype);
  std::string act = ctx.attrs().get_string("activation", "");
  const Shape& out = ctx.out_shape();
  int64_t axis = 0, half = 0;
  bool split = !ctx.has_input(1);
  if (split) {
    axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
    half = x.shape[axis] / 2;
  }
  auto gate_of = [&](Expr g) { return activation_expr(ctx, act, g, 0, 0, Expr()); };
  return {define(ctx.node.name, out, ctx.out_dtype(), [&](const Exprs& i) {
    if (!split) return ctx.in(0).at(i) * gate_of(ctx.in(1).at(i));
    Exprs j = i;
    j[axis] = i[axis] + Expr(static_cast<int>(half));
    return x.at(i) * gate_of(x.at(j));
  })};
}

}  // namespace nnc::cpu
