// Weight initialisers: fans from ONNX weight layouts, the statistics each scheme promises,
// reproducibility from a seed, and scheme names. Expected values are the formulas worked by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "frontend/initializers.h"

using namespace nnc;

namespace {

struct Stats {
  double mean = 0, stddev = 0, max_abs = 0;
};

Stats stats_of(const Tensor& t) {
  const float* v = t.data<float>();
  const int64_t n = t.numel();
  double sum = 0, max_abs = 0;
  for (int64_t i = 0; i < n; ++i) sum += v[i], max_abs = std::max(max_abs, std::fabs(double(v[i])));
  const double mean = sum / double(n);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) sq += (v[i] - mean) * (v[i] - mean);
  return {mean, std::sqrt(sq / double(n - 1)), max_abs};
}

}  // namespace

TEST_CASE("fans follow PyTorch's convention for ONNX weight layouts") {
  // Conv [M=16, C=3, 5, 5]: receptive field 25, fan_in 3*25 = 75, fan_out 16*25 = 400.
  CHECK(conv_fans({16, 3, 5, 5}) == Fans{75, 400});
  CHECK(conv_fans({8, 4, 3}) == Fans{12, 24});  // Conv1d: 4*3, 8*3
  // Gemm transB=1 / PyTorch Linear holds [out, in]; MatMul's B holds [in, out].
  CHECK(linear_fans({1000, 500}, true) == Fans{500, 1000});
  CHECK(linear_fans({1000, 500}, false) == Fans{1000, 500});
  CHECK_THROWS_AS(conv_fans({16, 3}), Error);
  CHECK_THROWS_AS(linear_fans({2, 3, 4}, true), Error);
  CHECK_THROWS_AS(conv_fans({16, -3, 5, 5}), Error);
}

TEST_CASE("He-normal on a large tensor has mean 0 and std sqrt(2/fan_in)") {
  const Shape shape = {1000, 500};  // Linear [out, in]: fan_in 500
  Tensor t = initialize(InitScheme::HeNormal, shape, linear_fans(shape, true), 7);
  CHECK(t.dtype() == DType::Float32);
  CHECK(t.shape() == shape);
  const double want = std::sqrt(2.0 / 500);  // 0.0632...
  Stats s = stats_of(t);
  CHECK(std::fabs(s.stddev - want) < 0.02 * want);
  // The standard error of the mean is want / sqrt(500000) ~ 9e-5.
  CHECK(std::fabs(s.mean) < 1e-3);
}

TEST_CASE("the other normal schemes have the documented standard deviation") {
  // MatMul B [in=400, out=600]: fan_in 400, fan_out 600.
  const Shape shape = {400, 600};
  const Fans fans = linear_fans(shape, false);
  struct Case {
    InitScheme scheme;
    double stddev;
  };
  const Case cases[] = {
      {InitScheme::XavierNormal, std::sqrt(2.0 / (400 + 600))},  // 0.0447...
      {InitScheme::LecunNormal, std::sqrt(1.0 / 400)},           // 0.05
  };
  for (const Case& c : cases) {
    INFO(init_scheme_name(c.scheme));
    Stats s = stats_of(initialize(c.scheme, shape, fans, 3));
    CHECK(std::fabs(s.stddev - c.stddev) < 0.02 * c.stddev);
    CHECK(std::fabs(s.mean) < 1e-3);
  }
}

TEST_CASE("uniform schemes stay inside their bound and reach it") {
  // Conv [64, 32, 3, 3]: fan_in 32*9 = 288, fan_out 64*9 = 576; 18432 values.
  const Shape shape = {64, 32, 3, 3};
  const Fans fans = conv_fans(shape);
  REQUIRE(fans == Fans{288, 576});
  struct Case {
    InitScheme scheme;
    double bound;
  };
  const Case cases[] = {
      {InitScheme::XavierUniform, std::sqrt(6.0 / (288 + 576))},  // 0.0833...
      {InitScheme::HeUniform, std::sqrt(6.0 / 288)},              // 0.1443...
      {InitScheme::LecunUniform, std::sqrt(3.0 / 288)},           // 0.1020...
  };
  for (const Case& c : cases) {
    INFO(init_scheme_name(c.scheme));
    Tensor t = initialize(c.scheme, shape, fans, 11);
    Stats s = stats_of(t);
    // The float rounding of a value may land a hair past the double bound.
    CHECK(s.max_abs <= c.bound * (1 + 1e-6));
    CHECK(s.max_abs > 0.99 * c.bound);
    // U(-b, b) has standard deviation b / sqrt(3).
    CHECK(std::fabs(s.stddev - c.bound / std::sqrt(3.0)) < 0.03 * c.bound / std::sqrt(3.0));
    CHECK(std::fabs(s.mean) < 0.02 * c.bound);
  }
}

TEST_CASE("uniform values are the documented transform of mt19937_64's output") {
  // mt19937_64's sequence is fixed by the standard, so this pins the weights on every platform:
  // value = (2u - 1) * bound with u = (draw >> 11) * 2^-53.
  const double bound = std::sqrt(6.0 / 10);  // He-uniform, fan_in 10
  Tensor t = initialize(InitScheme::HeUniform, {4}, Fans{10, 5}, 42);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 4; ++i) {
    const double u = double(rng() >> 11) * 0x1.0p-53;
    CHECK(t.data<float>()[i] == Approx((2 * u - 1) * bound).epsilon(1e-6));
  }
}

TEST_CASE("the same seed gives the same weights, another seed other weights") {
  const Shape shape = {32, 16, 3, 3};
  const Fans fans = conv_fans(shape);
  for (InitScheme s : {InitScheme::XavierUniform, InitScheme::HeNormal, InitScheme::LecunNormal}) {
    INFO(init_scheme_name(s));
    CHECK(initialize(s, shape, fans, 123) == initialize(s, shape, fans, 123));
    CHECK_FALSE(initialize(s, shape, fans, 123) == initialize(s, shape, fans, 124));
  }
  // An odd element count uses half of the last Box-Muller pair.
  Tensor odd = initialize(InitScheme::HeNormal, {3, 5}, Fans{5, 3}, 1);
  CHECK(odd.numel() == 15);
  CHECK(std::isfinite(odd.data<float>()[14]));
}

TEST_CASE("schemes that need a fan reject a zero one") {
  CHECK_THROWS_AS(initialize(InitScheme::HeNormal, {4, 0}, Fans{0, 4}, 1), Error);
  CHECK_THROWS_AS(initialize(InitScheme::XavierUniform, {2}, Fans{0, 0}, 1), Error);
  CHECK_THROWS_AS(initialize(InitScheme::LecunUniform, {2}, Fans{-1, 2}, 1), Error);
  // Xavier only needs fan_in + fan_out > 0.
  CHECK_NOTHROW(initialize(InitScheme::XavierNormal, {2}, Fans{0, 2}, 1));
}

TEST_CASE("scheme names parse with their aliases and round-trip") {
  CHECK(parse_init_scheme("xavier-uniform") == InitScheme::XavierUniform);
  CHECK(parse_init_scheme("glorot-normal") == InitScheme::XavierNormal);
  CHECK(parse_init_scheme("he-normal") == InitScheme::HeNormal);
  CHECK(parse_init_scheme("kaiming-uniform") == InitScheme::HeUniform);
  CHECK(parse_init_scheme("Kaiming_Normal") == InitScheme::HeNormal);
  CHECK(parse_init_scheme("lecun-normal") == InitScheme::LecunNormal);
  CHECK(parse_init_scheme("lecun-uniform") == InitScheme::LecunUniform);
  for (InitScheme s : {InitScheme::XavierUniform, InitScheme::XavierNormal, InitScheme::HeUniform,
                       InitScheme::HeNormal, InitScheme::LecunUniform, InitScheme::LecunNormal})
    CHECK(parse_init_scheme(init_scheme_name(s)) == s);
  CHECK(init_scheme_name(InitScheme::HeNormal) == "he-normal");
}

TEST_CASE("an unknown scheme name is an nnc::Error naming it and the valid names") {
  CHECK_THROWS_AS(parse_init_scheme("orthogonal"), Error);
  CHECK_THROWS_WITH(parse_init_scheme("orthogonal"), Catch::Contains("'orthogonal'") &&
                                                         Catch::Contains("xavier-uniform") &&
                                                         Catch::Contains("kaiming-normal"));
  CHECK_THROWS_AS(parse_init_scheme(""), Error);
}
