// Seeded random ops: the same seed gives the same draws, different seeds different ones,
// and the draws follow the requested distribution (moments checked on 100k samples).
#include <catch2/catch.hpp>

#include <cmath>

#include "runtime/ref/kernel.h"
#include "tests/run_op.h"

using namespace nnc;
using nnc::test::run_op;

namespace {

Tensor run_random(OpKind op, Attributes attrs, const std::vector<Tensor>& ins = {}) { return run_op(op, ins, std::move(attrs)).at(0); }

Attributes shaped(float seed) {
  Attributes a;
  a.set("shape", std::vector<int64_t>{100000});
  a.set("seed", seed);
  return a;
}

double mean(const Tensor& t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += t.at_double(i);
  return s / static_cast<double>(t.numel());
}

double stddev(const Tensor& t) {
  double m = mean(t), s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += (t.at_double(i) - m) * (t.at_double(i) - m);
  return std::sqrt(s / static_cast<double>(t.numel()));
}

}  // namespace

TEST_CASE("RandomUniform: seeded, from low up to but not including high, mean (low+high)/2, sd (high-low)/sqrt(12)") {
  Attributes a = shaped(3.0f);
  a.set("low", -1.0f);
  a.set("high", 3.0f);
  Tensor t = run_random(OpKind::RandomUniform, a);
  CHECK(t == run_random(OpKind::RandomUniform, a));
  a.set("seed", 4.0f);
  CHECK_FALSE(t == run_random(OpKind::RandomUniform, a));
  for (int64_t i = 0; i < t.numel(); ++i) REQUIRE((t.at_double(i) >= -1 && t.at_double(i) <= 3));
  CHECK(mean(t) == Catch::Detail::Approx(1.0).margin(0.02));
  CHECK(stddev(t) == Catch::Detail::Approx(4 / std::sqrt(12.0)).epsilon(0.01));
}

TEST_CASE("RandomNormal: mean and scale") {
  Attributes a = shaped(7.0f);
  a.set("mean", 2.0f);
  a.set("scale", 0.5f);
  Tensor t = run_random(OpKind::RandomNormal, a);
  CHECK(mean(t) == Catch::Detail::Approx(2.0).margin(0.01));
  CHECK(stddev(t) == Catch::Detail::Approx(0.5).epsilon(0.01));
}

TEST_CASE("Bernoulli: p = 0 and p = 1 are certain, p = 0.25 hits a quarter of the time") {
  Tensor p(DType::Float32, {3, 40000});
  for (int64_t i = 0; i < p.numel(); ++i) p.set_double(i, i < 40000 ? 0.0 : i < 80000 ? 1.0 : 0.25);
  Attributes a;
  a.set("seed", 1.0f);
  Tensor t = run_random(OpKind::Bernoulli, a, {p});
  double ones_in_third = 0;
  for (int64_t i = 0; i < 40000; ++i) {
    REQUIRE(t.at_double(i) == 0);
    REQUIRE(t.at_double(40000 + i) == 1);
    ones_in_third += t.at_double(80000 + i);
  }
  CHECK(ones_in_third / 40000 == Catch::Detail::Approx(0.25).margin(0.01));
}

TEST_CASE("Multinomial samples the class whose logit dominates") {
  Tensor logits = Tensor::from_floats({0, 0, 50, 50, 0, 0}, {2, 3});
  Attributes a;
  a.set("sample_size", int64_t{5});
  a.set("seed", 2.0f);
  Tensor t = run_random(OpKind::Multinomial, a, {logits});
  REQUIRE(t.shape() == Shape{2, 5});
  for (int64_t i = 0; i < 5; ++i) {
    CHECK(t.at_double(i) == 2);
    CHECK(t.at_double(5 + i) == 0);
  }
}

TEST_CASE("training-mode Dropout keeps 1 - ratio of the elements, scaled by 1/(1 - ratio), seeded") {
  Tensor x(DType::Float32, {100000});
  for (int64_t i = 0; i < x.numel(); ++i) x.set_double(i, 2.0);
  Tensor ratio = Tensor::scalar_float(0.25f);
  Tensor training(DType::Bool, {});
  training.data<bool>()[0] = true;
  Attributes seeded;
  seeded.set("seed", 5.0f);
  Tensors out = run_op(OpKind::Dropout, {x, ratio, training}, seeded, 2);
  CHECK(out == run_op(OpKind::Dropout, {x, ratio, training}, seeded, 2));
  int64_t kept = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    bool keep = out[1].data<bool>()[i];
    kept += keep;
    REQUIRE(out[0].at_double(i) == Catch::Detail::Approx(keep ? 2.0 / 0.75 : 0.0));
  }
  CHECK(static_cast<double>(kept) / x.numel() == Catch::Detail::Approx(0.75).margin(0.01));
}

TEST_CASE("RandomUniform with a negative shape is a clear error") {
  Attributes a;
  a.set("shape", std::vector<int64_t>{2, -1});
  CHECK_THROWS_WITH(run_random(OpKind::RandomUniform, a), Catch::Contains("node_under_test"));
}
