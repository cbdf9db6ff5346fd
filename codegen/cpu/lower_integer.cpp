// Lowerings of the quantized products, following runtime/ref/quantize.cpp: MatMulInteger
// and ConvInteger shift their operands by the zero points and accumulate in int32;
// QLinearMatMul and QLinearConv dequantize to double, accumulate in double and quantize the
// result again (half to even, saturating). Scales and zero points are per tensor, or 1-D
// per row of A (and Y) / per column of B / per output channel of W. Direct loop nests: these
// ops are rare in float models, so they get correctness, not a tuned schedule.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

// Input `input` (a scale or zero point) at position `along` of the axis it may vary along;
// absent, `fallback`.
Expr param(const LowerContext& ctx, size_t input, int64_t axis_len, Expr along, Expr fallback) {
  if (!ctx.has_input(input)) return fallback;
  const TensorFunc& p = ctx.in(input);
  if (numel_of(p.shape) == 1) return as_double(p.at(Exprs(p.shape.size(), Expr(0))));
  ctx.require(p.rank() == 1 && p.shape[0] == axis_len, "a quantization parameter must be a scalar or 1-D per row/column");
  return as_double(p.at({along}));
}

Expr quantized(const LowerContext& ctx, Expr y, Expr scale, Expr zero) {
  DType to = ctx.out_dtype();
  ctx.require(to == DType::UInt8 || to == DType::Int8, "the quantized type must be int8 or uint8");
  Halide::Type t = halide_type(to);
  Expr v = Halide::round(y / scale) + zero;
  return Halide::select(Halide::is_nan(v), Expr(0.0), Halide::clamp(v, as_double(t.min()), as_double(t.max())));
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
    return quantized(ctx, y, param(ctx, 6, M, m, Expr(1.0)), param(ctx, 7, M, m, Expr(0.0)));
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
    return quantized(ctx, y, param(ctx, 6, 1, Expr(0), Expr(1.0)), param(ctx, 7, 1, Expr(0), Expr(0.0)));
  })};
}

}  // namespace nnc::cpu
