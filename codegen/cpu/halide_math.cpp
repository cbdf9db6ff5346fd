#include "codegen/cpu/halide_math.h"

#include <cmath>

namespace nnc::hm {

std::pair<Expr, Expr> unify(Expr a, Expr b) {
  if (a.type() == b.type()) return {a, b};
  bool a_const = Halide::Internal::is_const(a), b_const = Halide::Internal::is_const(b);
  if (a_const && !b_const) return {Halide::cast(b.type(), a), b};
  if (b_const && !a_const) return {a, Halide::cast(a.type(), b)};
  Halide::Type t = a.type();
  Halide::Type u = b.type();
  Halide::Type w = (t.is_float() != u.is_float()) ? (t.is_float() ? t : u) : (t.bits() >= u.bits() ? t : u);
  return {Halide::cast(w, a), Halide::cast(w, b)};
}

Expr nearbyint(const Expr& x) { return x.type().is_float() ? Halide::round(x) : x; }
Expr isnan(const Expr& x) { return x.type().is_float() ? Halide::is_nan(x) : Halide::cast(Halide::Bool(), Expr(false)); }
Expr isinf(const Expr& x) { return x.type().is_float() ? Halide::is_inf(x) : Halide::cast(Halide::Bool(), Expr(false)); }

namespace {
// 2^t for float32 t in [-125, 126]: t = n + f with n the nearest integer (adding 1.5 * 2^23
// rounds t to it, in the sum's low mantissa bits) and f in [-0.5, 0.5]; 2^f by a degree-5
// polynomial (least squares on the relative error over Chebyshev nodes: under 8e-8), and n
// added to its exponent (n << 23 keeps the low 9 bits). 15 vector instructions; Halide's
// fast_exp takes 28 here, its floor split into two halves on AVX-512.
Expr exp2_reduced(const Expr& t) {
  const float magic = 12582912.0f;
  Expr r = t + magic;
  // strict: fast-math would simplify (t + magic) - magic to t.
  Expr f = t - Halide::strict_float(r - magic);
  Expr n = Halide::reinterpret(Halide::Int(32), r);  // low 9 bits: n mod 2^9 (its mantissa is 2^22 + n)
  Expr p = 0.0013266975292935967f;
  for (float c : {0.00967546459287405f, 0.05550742521882057f, 0.24022121727466583f, 0.6931469440460205f, 1.0000001192092896f})
    p = p * f + c;
  return Halide::reinterpret(Halide::Float(32), Halide::reinterpret(Halide::Int(32), p) + (n << 23));
}

// 1 / (1 + e^-x) for float32, e^-x = 2^(-x log2 e) clamped to where its exponent stays
// normal: the result is 1 past x = 86.6 and at most 1.2e-38 below x = -87.3. Relative error
// under 6e-7 for |x| < 10, 4e-6 up to |x| = 87 (t's rounding, amplified by 2^t). The clamp
// turns NaN into a number. SiLU over a depthwise convolution's output (144 x 56 x 56,
// 1 thread) costs 35% less than with fast_exp, -|x| and a select for both signs.
Expr sigmoid_clamped(const Expr& x) {
  return 1.0f / (1.0f + exp2_reduced(Halide::clamp(x * -1.44269504088896341f, -125.0f, 126.0f)));
}
}  // namespace

Expr sigmoid(const Expr& x) {
  if (x.type() == Halide::Float(32)) {
    // NaN stays NaN, tested on the bits: fast-math's no-NaN assumption drops is_nan here.
    Expr nan = (Halide::reinterpret(Halide::Int(32), x) & 0x7fffffff) > 0x7f800000;
    return Halide::select(nan, x, sigmoid_clamped(x));
  }
  Expr e = Halide::exp(-Halide::abs(x));  // exp(-|x|) is in (0, 1] and never overflows
  Expr one = Halide::cast(x.type(), 1);
  Expr r = one / (one + e);  // one division for both branches: a select computes both
  return Halide::select(x >= 0, r, e * r);
}

// x * sigmoid(x); a NaN x makes the product NaN, so the float32 form needs no NaN test (10%
// of a depthwise convolution with SiLU).
Expr silu(const Expr& x) { return x * (x.type() == Halide::Float(32) ? sigmoid_clamped(x) : sigmoid(x)); }

Expr log1p(const Expr& x) {
  // log(1+x) accurate for small x: log(u) * x / (u - 1) with u = 1 + x (Goldberg's trick).
  Expr one = Halide::cast(x.type(), 1);
  Expr u = one + x;
  return Halide::select(u == one, x, Halide::log(u) * x / (u - one));
}

Expr softplus(const Expr& x) {
  Expr zero = Halide::cast(x.type(), 0);
  return Halide::max(x, zero) + log1p(Halide::exp(-Halide::abs(x)));
}

Expr divide(const Expr& x, const Expr& y) {
  if (x.type().is_float()) return x / y;
  Expr zero = Halide::cast(x.type(), 0);
  // Halide's integer division rounds down; ONNX (like C) truncates toward zero.
  Expr q = Halide::div_round_to_zero(x, Halide::select(y == zero, Halide::cast(x.type(), 1), y));
  return Halide::select(y == zero, zero, q);
}

Expr power(const Expr& x, const Expr& y) {
  if (x.type().is_float()) return Halide::pow(x, Halide::cast(x.type(), y));
  return Halide::cast(x.type(), Halide::pow(Halide::cast(Halide::Float(64), x), Halide::cast(Halide::Float(64), y)));
}

Expr fmod_c(const Expr& x, const Expr& y) {
  if (x.type().is_float()) return x - Halide::trunc(x / y) * y;
  Expr zero = Halide::cast(x.type(), 0);
  return Halide::select(y == zero, zero, x - divide(x, y) * y);
}

Expr mod_python(const Expr& x, const Expr& y) {
  Expr zero = Halide::cast(x.type(), 0);
  Expr r = fmod_c(x, y);
  return Halide::select(r != zero && ((r < zero) != (y < zero)), r + y, r);
}

// strict_float: under Halide's default fast-math flags LLVM may assume no NaNs and drop the
// is_nan test (a NaN input of MaxPool came out as its window's other maximum).
Expr max_nan(const Expr& x, const Expr& y) {
  if (!x.type().is_float()) return Halide::max(x, y);
  return Halide::strict_float(Halide::select(Halide::is_nan(x) || Halide::is_nan(y), Halide::cast(x.type(), NAN), Halide::max(x, y)));
}
Expr min_nan(const Expr& x, const Expr& y) {
  if (!x.type().is_float()) return Halide::min(x, y);
  return Halide::strict_float(Halide::select(Halide::is_nan(x) || Halide::is_nan(y), Halide::cast(x.type(), NAN), Halide::min(x, y)));
}

}  // namespace nnc::hm
