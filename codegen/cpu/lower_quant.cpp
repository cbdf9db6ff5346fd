// Lowerings of QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear, following
// runtime/ref/quantize.cpp: a scale and zero point per tensor or per index along `axis`;
// quantizing divides in float for float32/half data (in double otherwise), rounds half to
// even, adds the zero point and saturates (NaN to 0); dequantizing is (x - zero) * scale in
// double, rounded once to the scale's type.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

// A scale or zero point at an element index of the data: one value for the whole tensor
// (shape [] or [1]) or a 1-D tensor indexed along `axis`; absent, `fallback`.
Expr param_at(const LowerContext& ctx, size_t input, const Shape& data, int64_t axis, const Exprs& i, Expr fallback) {
  if (!ctx.has_input(input)) return fallback;
  const TensorFunc& p = ctx.in(input);
  if (numel_of(p.shape) == 1) return as_double(p.at(Exprs(p.shape.size(), Expr(0))));
  ctx.require(p.rank() == 1 && !data.empty(), "a per-axis parameter must be 1-D");
  int64_t a = normalize_axis(ctx, axis, static_cast<int64_t>(data.size()));
  ctx.require(p.shape[0] == data[a], "a per-axis parameter's length differs from its axis");
  return as_double(p.at({i[a]}));
}

// saturate(round_half_even(x / scale) + zero) as `to`, NaN giving 0.
Expr quantize(Expr x, Expr scale, Expr zero, DType data, DType to) {
  bool in_float = data == DType::Float32 || data == DType::Float16 || data == DType::BFloat16;
  Expr q = in_float ? as_double(Halide::cast<float>(x) / Halide::cast<float>(scale)) : as_double(x) / scale;
  Expr v = Halide::round(q) + zero;
  Halide::Type t = halide_type(to);
  Expr clamped = Halide::clamp(v, as_double(t.min()), as_double(t.max()));
  return Halide::cast(t, Halide::select(Halide::is_nan(v), Expr(0.0), clamped));
}

void require_quantized(const LowerContext& ctx, DType t) {
  ctx.require(t == DType::UInt8 || t == DType::Int8, "the quantized type must be int8 or uint8");
}

}  // namespace

std::vector<TensorFunc> lower_QuantizeLinear(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  halide_type(x.dtype);
  DType to = ctx.out_dtype();
  require_quantized(ctx, to);
  int64_t axis = ctx.attrs().get_int("axis", 1);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    return quantize(x.at(i), param_at(ctx, 1, x.shape, axis, i, Expr(1.0)), param_at(ctx, 2, x.shape, axis, i, Expr(0.0)),
                    x.dtype, to);
  })};
}

std::vector<TensorFunc> lower_DequantizeLinear(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(is_integer(x.dtype), "quantized data must be integers");
  int64_t axis = ctx.attrs().get_int("axis", 1);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    return (as_double(x.at(i)) - param_at(ctx, 2, x.shape, axis, i, Expr(0.0))) *
           param_at(ctx, 1, x.shape, axis, i, Expr(1.0));
  })};
}

// uint8 over the data's range widened to include 0: scale = (max - min) / 255 and zero
// point round(saturate(-min / scale)), in float.
std::vector<TensorFunc> lower_DynamicQuantizeLinear(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(is_float(x.dtype), "x must be a float tensor");
  halide_type(x.dtype);
  Halide::Region region;
  for (int64_t d : x.shape) region.emplace_back(0, i32(d));
  Func range(func_name(ctx.node.name + "_range"));
  if (x.shape.empty()) {
    Expr v = Halide::cast<float>(x.at({}));
    range() = {Halide::min(v, 0.0f), Halide::max(v, 0.0f)};
  } else {
    Halide::RDom r(region);
    Exprs at;
    for (int d = 0; d < x.rank(); ++d) at.push_back(r[d]);
    range() = {Expr(0.0f), Expr(0.0f)};
    Expr v = Halide::cast<float>(x.at(at));
    range() = {Halide::min(range()[0], v), Halide::max(range()[1], v)};
  }
  range.compute_root();
  Expr scale = (range()[1] - range()[0]) / 255.0f;
  Expr zero = quantize(Expr(0.0f) - range()[0], scale, Expr(0.0), DType::Float32, DType::UInt8);
  std::vector<TensorFunc> outs{define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    return quantize(x.at(i), scale, as_double(zero), x.dtype, DType::UInt8);
  })};
  if (ctx.num_outputs() > 1) outs.push_back(define_output(ctx, 1, {}, [&](const Exprs&) { return scale; }));
  if (ctx.num_outputs() > 2) outs.push_back(define_output(ctx, 2, {}, [&](const Exprs&) { return zero; }));
  return outs;
}

}  // namespace nnc::cpu
