// Scalar helpers the bodies in ir/ops.def are written with. Each has the semantics ONNX
// gives the op for every type the op accepts (integer division by zero gives 0 rather
// than trapping, NaN propagates through Max/Min, Mod follows Python for integers).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace nnc::sm {

using std::abs; using std::acos; using std::acosh; using std::asin; using std::asinh; using std::atan;
using std::atanh; using std::ceil; using std::cos; using std::cosh; using std::erf; using std::exp;
using std::floor; using std::log; using std::nearbyint; using std::sin; using std::sinh; using std::sqrt;
using std::tan; using std::tanh; using std::isnan; using std::isinf;

template <class C, class A, class B>
auto select(C cond, A a, B b) -> std::common_type_t<A, B> {
  using R = std::common_type_t<A, B>;
  return cond ? static_cast<R>(a) : static_cast<R>(b);
}
template <class A, class B> auto max(A a, B b) -> std::common_type_t<A, B> { return a > b ? a : b; }
template <class A, class B> auto min(A a, B b) -> std::common_type_t<A, B> { return a < b ? a : b; }

template <class T> T max_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) if (std::isnan(a) || std::isnan(b)) return NAN;
  return a > b ? a : b;
}
template <class T> T min_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) if (std::isnan(a) || std::isnan(b)) return NAN;
  return a < b ? a : b;
}

inline bool isnan(bool) { return false; }
template <class T> requires std::is_unsigned_v<T> T abs(T x) { return x; }
template <class T> requires std::is_integral_v<T> bool isinf(T) { return false; }

template <class T> T sigmoid(T x) {
  return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}
template <class T> T silu(T x) { return x * sigmoid(x); }
template <class T> T softplus(T x) {  // log(1 + exp(x)) without overflow
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

template <class T> T divide(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    if (y == 0) return 0;
    if constexpr (std::is_signed_v<T>) if (y == -1) return static_cast<T>(T(0) - x);  // avoids MIN / -1
    return static_cast<T>(x / y);
  } else {
    return x / y;
  }
}

template <class T> T power(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(y)));
  } else {
    return std::pow(x, y);
  }
}

template <class T> T fmod_c(T x, T y) {  // C fmod: the result has the sign of x
  if constexpr (std::is_integral_v<T>) {
    if (y == 0) return 0;
    if constexpr (std::is_signed_v<T>) if (y == -1) return 0;
    return static_cast<T>(x % y);
  } else {
    return std::fmod(x, y);
  }
}

template <class T> T mod_python(T x, T y) {  // the result has the sign of y
  if constexpr (std::is_integral_v<T>) {
    T r = fmod_c(x, y);
    if constexpr (std::is_signed_v<T>) if (r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
    return r;
  } else {
    T r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
  }
}

}  // namespace nnc::sm
