#include "frontend/initializers.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include "ir/checked.h"

namespace nnc {

namespace {

struct SchemeName {
  const char* name;
  InitScheme scheme;
};

// Canonical names first; init_scheme_name() returns the first entry for a scheme.
constexpr SchemeName kSchemeNames[] = {
    {"xavier-uniform", InitScheme::XavierUniform}, {"xavier-normal", InitScheme::XavierNormal},
    {"he-uniform", InitScheme::HeUniform},         {"he-normal", InitScheme::HeNormal},
    {"lecun-uniform", InitScheme::LecunUniform},   {"lecun-normal", InitScheme::LecunNormal},
    {"glorot-uniform", InitScheme::XavierUniform}, {"glorot-normal", InitScheme::XavierNormal},
    {"kaiming-uniform", InitScheme::HeUniform},    {"kaiming-normal", InitScheme::HeNormal},
};

bool is_uniform(InitScheme s) {
  return s == InitScheme::XavierUniform || s == InitScheme::HeUniform || s == InitScheme::LecunUniform;
}

// A double in [0, 1) from the top 53 bits of one 64-bit draw (exact, no rounding up to 1).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

InitScheme parse_init_scheme(const std::string& name) {
  std::string key = name;
  for (char& c : key) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const SchemeName& n : kSchemeNames)
    if (key == n.name) return n.scheme;
  std::string valid;
  for (const SchemeName& n : kSchemeNames) valid += std::string(valid.empty() ? "" : ", ") + n.name;
  throw Error("unknown weight initialiser '" + name + "' (valid: " + valid + ")");
}

std::string init_scheme_name(InitScheme s) {
  for (const SchemeName& n : kSchemeNames)
    if (n.scheme == s) return n.name;
  return "unknown";
}

Fans conv_fans(const Shape& w) {
  check(w.size() >= 3, "a convolution weight must be [M, C/group, k...], got " + shape_str(w));
  int64_t receptive = 1;
  for (size_t i = 2; i < w.size(); ++i) receptive = checked_mul(receptive, w[i], "convolution kernel size");
  return {checked_mul(w[1], receptive, "fan_in"), checked_mul(w[0], receptive, "fan_out")};
}

Fans linear_fans(const Shape& w, bool out_major) {
  check(w.size() == 2, "a linear weight must be 2-D, got " + shape_str(w));
  check(w[0] >= 0 && w[1] >= 0, "negative dimension in weight shape " + shape_str(w));
  return out_major ? Fans{w[1], w[0]} : Fans{w[0], w[1]};
}

Tensor initialize(InitScheme s, const Shape& shape, Fans fans, uint64_t seed) {
  const std::string what = init_scheme_name(s) + " initialiser";
  check(fans.in >= 0 && fans.out >= 0, what + ": negative fan");
  double var_scale = 0;  // the variance is var_scale / fan, for the scheme's fan
  double fan = 0;
  switch (s) {
    case InitScheme::XavierUniform:
    case InitScheme::XavierNormal:
      var_scale = 2, fan = static_cast<double>(fans.in) + static_cast<double>(fans.out);
      break;
    case InitScheme::HeUniform:
    case InitScheme::HeNormal:
      var_scale = 2, fan = static_cast<double>(fans.in);
      break;
    case InitScheme::LecunUniform:
    case InitScheme::LecunNormal:
      var_scale = 1, fan = static_cast<double>(fans.in);
      break;
  }
  check(fan > 0, what + ": needs a positive fan (fan_in " + std::to_string(fans.in) + ", fan_out " +
                     std::to_string(fans.out) + ")");

  Tensor t(DType::Float32, shape);
  float* out = t.data<float>();
  const int64_t n = t.numel();
  std::mt19937_64 rng(seed);
  const double stddev = std::sqrt(var_scale / fan);
  if (is_uniform(s)) {
    // U(-b, b) has variance b^2 / 3, so b = sqrt(3) * stddev: sqrt(6/fan) for Xavier and He, sqrt(3/fan) for LeCun.
    const double bound = std::sqrt(3 * var_scale / fan);
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>((2 * uniform01(rng) - 1) * bound);
  } else {
    // Box-Muller: two uniforms give two independent standard normals. u1 is in (0, 1] so log is finite.
    const double two_pi = 6.283185307179586476925;
    for (int64_t i = 0; i < n; i += 2) {
      const double u1 = 1 - uniform01(rng);
      const double u2 = uniform01(rng);
      const double r = std::sqrt(-2 * std::log(u1)) * stddev;
      out[i] = static_cast<float>(r * std::cos(two_pi * u2));
      if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(two_pi * u2));
    }
  }
  return t;
}

}  // namespace nnc
