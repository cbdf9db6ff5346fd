// Lowerings of DFT and STFT, following runtime/ref/signal.cpp: the direct O(n^2) transform in
// double, with twiddles exp(-+2*pi*i*m/n) computed at compile time (indexed by k*t mod n, as
// in the reference). Complex values are a trailing dim of 2, real inputs a trailing dim of 1.
#include <cmath>
#include <complex>
#include <numbers>

#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

struct Transform {
  TensorFunc twiddle;  // [n, 2]
  int64_t n = 0;
  bool inverse = false;
};

Transform make_transform(LowerContext& ctx, int64_t n, bool inverse) {
  ctx.require(n >= 1 && n < 46341, "the transform length must be in [1, 46340]");  // k * t fits int32
  Tensor tw(DType::Float64, {n, 2});
  double* p = tw.data<double>();
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t m = 0; m < n; ++m) {
    std::complex<double> w = std::polar(1.0, sign * 2.0 * std::numbers::pi * static_cast<double>(m) / static_cast<double>(n));
    p[2 * m] = w.real();
    p[2 * m + 1] = w.imag();
  }
  return {ctx.add_constant(std::move(tw), ctx.node.name + "_twiddle"), n, inverse};
}

// Bin k's real (part 0) or imaginary (part 1) value of the transform of the `len` samples
// line(t) = {re, im}.
Expr bin(const Transform& T, int64_t len, Expr k, Expr part, const std::function<std::pair<Expr, Expr>(Expr)>& line) {
  Halide::RDom t(0, i32(len));
  Expr m = (k * t) % i32(T.n);
  auto [a, b] = line(t);
  Expr c = T.twiddle.at({m, 0}), d = T.twiddle.at({m, 1});
  Expr re = Halide::sum(a * c - b * d), im = Halide::sum(a * d + b * c);
  Expr v = Halide::select(part == 0, re, im);
  return T.inverse ? v / Expr(static_cast<double>(T.n)) : v;
}

int64_t complex_dim(const LowerContext& ctx, const TensorFunc& x) {
  ctx.require(is_float(x.dtype) && x.rank() > 0 && (x.shape.back() == 1 || x.shape.back() == 2),
              "the signal must be float and end in a dim of 1 or 2");
  halide_type(x.dtype);
  return x.shape.back();
}

int64_t scalar_param(LowerContext& ctx, size_t i) {
  std::vector<int64_t> v = ctx.const_ints(i);
  ctx.require(v.size() == 1, "expected a scalar");
  return v[0];
}

}  // namespace

std::vector<TensorFunc> lower_DFT(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(x.rank() >= 2, "input must have rank >= 2");
  const int64_t c = complex_dim(ctx, x);
  const int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 1), x.rank() - 1);
  const bool onesided = ctx.attrs().get_int("onesided", 0) != 0;
  ctx.require(!onesided || c == 1, "onesided output needs a real input");
  const int64_t n_in = x.shape[axis];
  const int64_t n = ctx.has_input(1) ? scalar_param(ctx, 1) : n_in;
  Transform T = make_transform(ctx, n, ctx.attrs().get_int("inverse", 0) != 0);
  Shape out = x.shape;
  out[axis] = onesided ? n / 2 + 1 : n;
  out.back() = 2;
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    return bin(T, std::min(n_in, n), i[axis], i.back(), [&](Expr t) {
      Exprs at = i;
      at[axis] = t;
      at.back() = 0;
      Expr re = as_double(x.at(at));
      at.back() = 1;
      return std::pair{re, c == 2 ? as_double(x.at(at)) : Expr(0.0)};
    });
  })};
}

std::vector<TensorFunc> lower_STFT(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(x.rank() == 3, "signal must be [batch, length, 1 or 2]");
  const int64_t c = complex_dim(ctx, x);
  const int64_t step = scalar_param(ctx, 1);
  ctx.require(step >= 1, "frame_step must be >= 1");
  const TensorFunc* window = ctx.has_input(2) ? &ctx.in(2) : nullptr;
  ctx.require(!window || (window->rank() == 1 && is_float(window->dtype)), "window must be 1-D float");
  ctx.require(window || ctx.has_input(3), "either window or frame_length must be given");
  const int64_t frame = ctx.has_input(3) ? scalar_param(ctx, 3) : window->shape[0];
  ctx.require(!window || window->shape[0] == frame, "window length differs from frame_length");
  const int64_t length = x.shape[1];
  ctx.require(frame >= 1 && frame <= length, "frame_length must be in [1, signal length]");
  const bool onesided = ctx.attrs().get_int("onesided", 1) != 0;
  ctx.require(!onesided || c == 1, "onesided output needs a real input");
  const int64_t frames = (length - frame) / step + 1;
  Transform T = make_transform(ctx, frame, false);
  Shape out{x.shape[0], frames, onesided ? frame / 2 + 1 : frame, 2};
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    return bin(T, frame, i[2], i[3], [&](Expr t) {
      Expr pos = i[1] * i32(step) + t;
      Expr w = window ? as_double(window->at({t})) : Expr(1.0);
      Expr re = w * as_double(x.at({i[0], pos, 0}));
      return std::pair{re, c == 2 ? w * as_double(x.at({i[0], pos, 1})) : Expr(0.0)};
    });
  })};
}

}  // namespace nnc::cpu
