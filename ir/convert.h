// Scalar conversion between storage types, defined for every input (no UB on NaN or
// out-of-range float -> int: those saturate, NaN becomes 0).
#pragma once
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "ir/dtype.h"

namespace nnc {

template <class To, class From>
To convert_scalar(From v) {
  using CF = compute_t<From>;
  using CT = compute_t<To>;
  CF x = static_cast<CF>(v);
  if constexpr (std::is_same_v<CT, bool>) {
    return static_cast<To>(x != CF(0));
  } else if constexpr (std::is_integral_v<CT> && std::is_floating_point_v<CF>) {
    if (std::isnan(x)) return To(0);
    if (x <= static_cast<CF>(std::numeric_limits<CT>::lowest())) return std::numeric_limits<CT>::lowest();
    if (x >= static_cast<CF>(std::numeric_limits<CT>::max())) return std::numeric_limits<CT>::max();
    return static_cast<To>(static_cast<CT>(x));
  } else {
    return static_cast<To>(static_cast<CT>(x));
  }
}

}  // namespace nnc
