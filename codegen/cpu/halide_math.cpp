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

Expr sigmoid(const Expr& x) {
  // exp(-|x|) is in (0, 1] and never overflows. For float32, Halide's fast_exp (a relative
  // error of about 2e-6 here, within ONNX's rtol of 1e-3 by far) over an argument clamped
  // above its underflow: SiLU over 2^20 floats 0.37 -> 0.29 ns each (AVX-512, 1 thread).
  Expr e = x.type() == Halide::Float(32) ? Halide::fast_exp(Halide::max(-Halide::abs(x), -87.0f))
                                         : Halide::exp(-Halide::abs(x));
  Expr one = Halide::cast(x.type(), 1);
  Expr r = one / (one + e);  // one division for both branches: a select computes both
  return Halide::select(x >= 0, r, e * r);
}

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
