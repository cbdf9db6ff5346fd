// Halide versions of the scalar helpers (ir/scalar_math.h) that the element-wise bodies in
// ir/ops.def are written with, so one body text serves the reference kernels and the
// compiled ones. Each follows the reference semantics (C-style integer division and
// remainder, NaN-propagating Max/Min, Python's Mod).
#pragma once
#include <Halide.h>

#include <type_traits>

namespace nnc::hm {

using Halide::Expr;
using Halide::acos; using Halide::acosh; using Halide::asin; using Halide::asinh; using Halide::atan;
using Halide::atanh; using Halide::ceil; using Halide::cos; using Halide::cosh; using Halide::erf;
using Halide::exp; using Halide::floor; using Halide::log; using Halide::sin; using Halide::sinh;
using Halide::sqrt; using Halide::tan; using Halide::tanh;

// A literal (or C++ bool/float) made an Expr of the other operand's type.
template <class T> Expr like(const Expr& other, T v) {
  if constexpr (std::is_same_v<std::decay_t<T>, Expr>) {
    return v.type() == other.type() ? v : Halide::cast(other.type(), v);
  } else {
    return Halide::cast(other.type(), Expr(v));
  }
}
inline Expr as_expr(const Expr& e) { return e; }
template <class T> Expr as_expr(T v) { return Expr(v); }

// Double literals in the bodies (0.5 * x) take the Expr's type rather than being ambiguous.
inline Expr operator+(const Expr& a, double b) { return a + Halide::Internal::make_const(a.type(), b); }
inline Expr operator+(double a, const Expr& b) { return Halide::Internal::make_const(b.type(), a) + b; }
inline Expr operator-(const Expr& a, double b) { return a - Halide::Internal::make_const(a.type(), b); }
inline Expr operator-(double a, const Expr& b) { return Halide::Internal::make_const(b.type(), a) - b; }
inline Expr operator*(const Expr& a, double b) { return a * Halide::Internal::make_const(a.type(), b); }
inline Expr operator*(double a, const Expr& b) { return Halide::Internal::make_const(b.type(), a) * b; }
inline Expr operator/(const Expr& a, double b) { return a / Halide::Internal::make_const(a.type(), b); }
inline Expr operator/(double a, const Expr& b) { return Halide::Internal::make_const(b.type(), a) / b; }

// Both operands brought to one type: a literal takes the Expr's type; two Exprs of
// different types meet at the wider (float beats int).
std::pair<Expr, Expr> unify(Expr a, Expr b);

template <class A, class B> Expr select(const Expr& c, A a, B b) {
  auto [x, y] = unify(as_expr(a), as_expr(b));
  return Halide::select(c, x, y);
}
template <class A, class B> Expr select(bool c, A a, B b) {
  auto [x, y] = unify(as_expr(a), as_expr(b));
  return c ? x : y;
}
template <class A, class B> Expr max(A a, B b) { auto [x, y] = unify(as_expr(a), as_expr(b)); return Halide::max(x, y); }
template <class A, class B> Expr min(A a, B b) { auto [x, y] = unify(as_expr(a), as_expr(b)); return Halide::min(x, y); }

// abs(x) is Halide::abs (found by argument lookup); define() casts its unsigned result back.
Expr nearbyint(const Expr& x);  // ties to even
Expr isnan(const Expr& x);
Expr isinf(const Expr& x);
Expr sigmoid(const Expr& x);
Expr silu(const Expr& x);
Expr softplus(const Expr& x);
Expr log1p(const Expr& x);
Expr divide(const Expr& x, const Expr& y);      // integers: truncating, x/0 = 0
Expr power(const Expr& x, const Expr& y);
Expr fmod_c(const Expr& x, const Expr& y);      // the sign of x
Expr mod_python(const Expr& x, const Expr& y);  // the sign of y
Expr max_nan(const Expr& x, const Expr& y);
Expr min_nan(const Expr& x, const Expr& y);

}  // namespace nnc::hm
