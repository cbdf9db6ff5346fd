// Lowerings of the linear quantization ops, following runtime/ref/quantize.cpp: a scale and
// zero point per tensor or per index along an axis; quantizing divides in float for
// float32/half data (in double otherwise), rounds half to even, adds the zero point and
// saturates (NaN to 0); dequantizing is (x - zero) * scale in double, rounded once to the
// scale's type. The quantized products: MatMulInteger and ConvInteger shift their operands
// by the zero points and accumulate in int32; QLinearMatMul and QLinearConv dequantize to
// double, accumulate in double and quantize the result (parameters per tensor, or per row of
// A and Y / column of B / output channel of W). Direct loop nests: these ops are rare in
// float models, so they get correctness, not a tuned schedule.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

// Input `input` (a scale or zero point) at position `along` of the axis it may vary along
// (of length axis_len): one value for the whole tensor (shape [] or [1]) or a 1-D tensor;
// absent, `fallback`.
Expr param(const LowerContext& ctx, size_t input, int64_t axis_len, Expr along, Expr fallback) {
  if (!ctx.has_input(input)) return fallback;
  const TensorFunc& p = ctx.in(input);
  if (numel_of(p.shape) == 1) return as_double(p.at(Exprs(p.shape.size(), Expr(0))));
  ctx.require(p.rank() == 1 && p.shape[0] == axis_len, "a quantization parameter must be a scalar or 1-D along its axis");
  return as_double(p.at({along}));
}

// The same at element index i of `data`, varying along `axis` (which only a per-axis
// parameter reads).
Expr param_at(const LowerContext& ctx, size_t input, const Shape& data, int64_t axis, const Exprs& i, Expr fallback) {
  if (!ctx.has_input(input) || numel_of(ctx.in(input).shape) == 1) return param(ctx, input, 1, Expr(0), fallback);
  ctx.require(!data.empty(), "a per-axis parameter needs an axis");
  int64_t a = normalize_axis(ctx, axis, static_cast<int64_t>(data.size()));
  return param(ctx, input, data[a], i[a], fallback);
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

// A double result quantized to the node's output type.
Expr quantize_to_output(const LowerContext& ctx, Expr y, Expr scale, Expr zero) {
  require_quantized(ctx, ctx.out_dtype());
  return quantize(y, scale, zero, DType::Float64, ctx.out_dtype());
}

// sum_k a(.., m, k) * b(.., k, n) over an output index, with a(idx) and b(idx) given.
Expr matmul_sum(const LowerContext& ctx, const Shape& as, const Shape& bs, const Exprs& i,
                const std::function<Expr(const Exprs&, Expr m)>& a, const std::function<Expr(const Exprs&, Expr n)>& b) {
  ctx.require(as.size() >= 2 && bs.size() >= 2 && as.back() == bs[bs.size() - 2], "operands must be matrices");
  const Shape& out = ctx.out_shape();
  Halide::RDom k(0, i32(as.back()));
  Exprs batch(i.begin(), i.end() - 2);
  Shape out_batch(out.begin(), out.end() - 2);
  auto operand_index = [&](const Shape& s, Expr row, Expr col) {
    Exprs idx = broadcast_index(Shape(s.begin(), s.end() - 2), out_batch, batch);
    idx.push_back(row);
    idx.push_back(col);
    return idx;
  };
  Expr m = i[i.size() - 2], n = i.back();
  return Halide::sum(a(operand_index(as, m, k), m) * b(operand_index(bs, k, n), n));
}

// sum over (c, ky, kx) of the group of x(n, c, iy, ix) * w(m, c, ky, kx), with x 0 outside.
Expr conv_sum(const ConvGeometry& g, const Exprs& i, Expr zero, const std::function<Expr(const Exprs&)>& x,
              const std::function<Expr(const Exprs&)>& w) {
  const int cg = static_cast<int>(g.C / g.group), mg = static_cast<int>(g.M / g.group);
  Halide::RDom r(0, cg, 0, i32(g.KH), 0, i32(g.KW));
  Expr n = i[0], m = i[1];
  Expr c = m / mg * cg + r.x;
  Expr iy = i[2] * i32(g.sy) + r.y * i32(g.dy) - i32(g.py);
  Expr ix = i[3] * i32(g.sx) + r.z * i32(g.dx) - i32(g.px);
  Expr inside = iy >= 0 && iy < i32(g.H) && ix >= 0 && ix < i32(g.W);
  Expr xv = x({n, c, Halide::clamp(iy, 0, i32(g.H - 1)), Halide::clamp(ix, 0, i32(g.W - 1))});
  return Halide::sum(Halide::select(inside, xv, zero) * w({m, r.x, r.y, r.z}));
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

std::vector<TensorFunc> lower_MatMulInteger(LowerContext& ctx) {
  const TensorFunc &a = ctx.in(0), &b = ctx.in(1);
  const int64_t M = a.shape.at(a.rank() - 2), N = b.shape.back();
  auto shifted = [](const TensorFunc& t, Expr zero) {
    return [&t, zero](const Exprs& idx, Expr) { return Halide::cast<int>(t.at(idx)) - zero; };
  };
  auto zero_of = [&](size_t input, int64_t len, Expr along) {
    return Halide::cast<int>(param(ctx, input, len, along, Expr(0.0)));
  };
  return {define_output(ctx, 0, ctx.out_shape(), [&](const Exprs& i) {
    Expr m = i[i.size() - 2], n = i.back();
    return matmul_sum(ctx, a.shape, b.shape, i, shifted(a, zero_of(2, M, m)), shifted(b, zero_of(3, N, n)));
  })};
}

std::vector<TensorFunc> lower_QLinearMatMul(LowerContext& ctx) {
  const TensorFunc &a = ctx.in(0), &b = ctx.in(3);
  const int64_t M = a.shape.at(a.rank() - 2), N = b.shape.back();
  return {define_output(ctx, 0, ctx.out_shape(), [&](const Exprs& i) {
    Expr m = i[i.size() - 2], n = i.back();
    Expr y = matmul_sum(
        ctx, a.shape, b.shape, i,
        [&](const Exprs& idx, Expr m) { return (as_double(a.at(idx)) - param(ctx, 2, M, m, Expr(0.0))) * param(ctx, 1, M, m, Expr(1.0)); },
        [&](const Exprs& idx, Expr n) { return (as_double(b.at(idx)) - param(ctx, 5, N, n, Expr(0.0))) * param(ctx, 4, N, n, Expr(1.0)); });
    return quantize_to_output(ctx, y, param(ctx, 6, M, m, Expr(1.0)), param(ctx, 7, M, m, Expr(0.0)));
  })};
}

std::vector<TensorFunc> lower_ConvInteger(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &w = ctx.in(1);
  ConvGeometry g = conv_geometry(ctx);
  return {define_output(ctx, 0, ctx.out_shape(), [&](const Exprs& i) {
    Expr xz = Halide::cast<int>(param(ctx, 2, 1, Expr(0), Expr(0.0)));
    Expr wz = Halide::cast<int>(param(ctx, 3, g.M, i[1], Expr(0.0)));
    return conv_sum(g, i, Expr(0), [&](const Exprs& j) { return Halide::cast<int>(x.at(j)) - xz; },
                    [&](const Exprs& j) { return Halide::cast<int>(w.at(j)) - wz; });
  })};
}

// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B (int32).
std::vector<TensorFunc> lower_QLinearConv(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &w = ctx.in(3);
  ConvGeometry g = conv_geometry(ctx, 3);
  return {define_output(ctx, 0, ctx.out_shape(), [&](const Exprs& i) {
    Expr m = i[1];
    Expr xs = param(ctx, 1, 1, Expr(0), Expr(1.0)), xz = param(ctx, 2, 1, Expr(0), Expr(0.0));
    Expr ws = param(ctx, 4, g.M, m, Expr(1.0)), wz = param(ctx, 5, g.M, m, Expr(0.0));
    Expr y = conv_sum(g, i, Expr(0.0), [&](const Exprs& j) { return (as_double(x.at(j)) - xz) * xs; },
                      [&](const Exprs& j) { return (as_double(w.at(j)) - wz) * ws; });
    if (ctx.has_input(8)) y = y + as_double(ctx.in(8).at({m})) * xs * ws;
    return quantize_to_output(ctx, y, param(ctx, 6, 1, Expr(0), Expr(1.0)), param(ctx, 7, 1, Expr(0), Expr(0.0)));
  })};
}

}  // namespace nnc::cpu
