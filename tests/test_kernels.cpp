// Reference-kernel tests with expected values worked out by hand.
#include <catch2/catch.hpp>

#include "runtime/ref/kernel.h"
#include "tests/run_op.h"

using namespace nnc;
using nnc::test::run_op;
using Catch::Detail::Approx;

namespace {

Tensor floats(std::vector<float> v, Shape s) { return Tensor::from_floats(v, std::move(s)); }

void check_close(const Tensor& t, const std::vector<float>& want) {
  REQUIRE(t.numel() == static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) CHECK(t.data<float>()[i] == Approx(want[i]).epsilon(1e-5).margin(1e-6));
}

Tensor iota(Shape s, float start = 1) {
  Tensor t(DType::Float32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

}  // namespace

TEST_CASE("Conv 3x3 input, 2x2 ones kernel: sums of windows") {
  Tensor x = iota({1, 1, 3, 3});
  Tensor w = floats({1, 1, 1, 1}, {1, 1, 2, 2});
  Tensor y = run_op(OpKind::Conv, {x, w})[0];
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  check_close(y, {12, 16, 24, 28});

  Attributes a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  a.set("strides", std::vector<int64_t>{2, 2});
  check_close(run_op(OpKind::Conv, {x, w}, a)[0], {1, 5, 11, 28});
}

TEST_CASE("depthwise Conv (group = channels) scales each channel, plus bias") {
  Tensor x = iota({1, 2, 1, 3});
  Tensor w = floats({2, 3}, {2, 1, 1, 1});
  Tensor b = floats({10, 20}, {2});
  Attributes a;
  a.set("group", int64_t{2});
  check_close(run_op(OpKind::Conv, {x, w, b}, a)[0], {12, 14, 16, 32, 35, 38});
}

TEST_CASE("Conv with mismatched channels is a clear error naming the node") {
  Tensor x = iota({1, 3, 4, 4});
  Tensor w = iota({2, 2, 3, 3});
  CHECK_THROWS_WITH(run_op(OpKind::Conv, {x, w}), Catch::Contains("node_under_test"));
}

TEST_CASE("Gemm with transB, alpha, beta and a broadcast bias") {
  Tensor A = floats({1, 2, 3, 4}, {2, 2});
  Tensor B = floats({1, 0, 0, 1, 1, 1}, {3, 2});
  Tensor C = floats({10, 20, 30}, {3});
  Attributes a;
  a.set("transB", int64_t{1});
  a.set("alpha", 2.0f);
  a.set("beta", 0.5f);
  check_close(run_op(OpKind::Gemm, {A, B, C}, a)[0], {7, 14, 21, 11, 18, 29});
}

TEST_CASE("MatMul broadcasts batch dims") {
  Tensor A = floats({1, 2, 3, 4}, {2, 1, 2});
  Tensor B = floats({5, 6}, {2, 1});
  Tensor y = run_op(OpKind::MatMul, {A, B})[0];
  CHECK(y.shape() == Shape{2, 1, 1});
  check_close(y, {17, 39});
}

TEST_CASE("broadcasting Add over an odd size, and int division by zero is defined") {
  Tensor x = iota({2, 3});
  Tensor y = floats({10, 20, 30}, {3});
  check_close(run_op(OpKind::Add, {x, y})[0], {11, 22, 33, 14, 25, 36});
  Tensor a = Tensor::from_int64s({7, -7, 5}, {3});
  Tensor b = Tensor::from_int64s({2, 2, 0}, {3});
  Tensor q = run_op(OpKind::Div, {a, b})[0];
  CHECK(q.to_int64s() == std::vector<int64_t>{3, -3, 0});
}

TEST_CASE("Mod: Python sign convention by default, C fmod with fmod=1") {
  Tensor a = Tensor::from_int64s({-7, 7}, {2});
  Tensor b = Tensor::from_int64s({3, -3}, {2});
  CHECK(run_op(OpKind::Mod, {a, b})[0].to_int64s() == std::vector<int64_t>{2, -2});
  Attributes f;
  f.set("fmod", int64_t{1});
  CHECK(run_op(OpKind::Mod, {a, b}, f)[0].to_int64s() == std::vector<int64_t>{-1, 1});
}

TEST_CASE("Relu over 17 elements (misses any vector width)") {
  Tensor x = iota({17}, -8);
  Tensor y = run_op(OpKind::Relu, {x})[0];
  for (int i = 0; i < 17; ++i) CHECK(y.data<float>()[i] == std::max(0.0f, static_cast<float>(i - 8)));
}

TEST_CASE("Softmax of [1,2,3]") {
  check_close(run_op(OpKind::Softmax, {floats({1, 2, 3}, {1, 3})})[0], {0.09003057f, 0.24472847f, 0.66524096f});
}

TEST_CASE("ReduceMean over axis 1 with keepdims") {
  Attributes a;
  a.set("axes", std::vector<int64_t>{1});
  Tensor y = run_op(OpKind::ReduceMean, {iota({2, 3})}, a)[0];
  CHECK(y.shape() == Shape{2, 1});
  check_close(y, {2, 5});
}

TEST_CASE("MaxPool 2x2 stride 2 and GlobalAveragePool") {
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{2, 2});
  a.set("strides", std::vector<int64_t>{2, 2});
  check_close(run_op(OpKind::MaxPool, {iota({1, 1, 4, 4})}, a)[0], {6, 8, 14, 16});
  check_close(run_op(OpKind::GlobalAveragePool, {iota({1, 2, 2, 2})})[0], {2.5f, 6.5f});
}

TEST_CASE("LayerNormalization of [1,2,3,4] (mean 2.5, variance 1.25)") {
  Attributes a;
  a.set("epsilon", 0.0f);
  Tensor y = run_op(OpKind::LayerNormalization, {iota({1, 4}), floats({1, 1, 1, 1}, {4})}, a)[0];
  check_close(y, {-1.3416408f, -0.4472136f, 0.4472136f, 1.3416408f});
}

TEST_CASE("BatchNormalization (inference) applies (x - mean) / sqrt(var + eps) * scale + bias") {
  Tensor x = floats({1, 2, 3, 4}, {1, 2, 2, 1});
  Tensor scale = floats({2, 1}, {2}), bias = floats({0, 1}, {2});
  Tensor mean = floats({1, 3}, {2}), var = floats({4, 1}, {2});
  Attributes a;
  a.set("epsilon", 0.0f);
  check_close(run_op(OpKind::BatchNormalization, {x, scale, bias, mean, var}, a)[0], {0, 1, 1, 2});
}

TEST_CASE("Transpose, Concat and Slice move data") {
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{1, 0});
  check_close(run_op(OpKind::Transpose, {iota({2, 3})}, perm)[0], {1, 4, 2, 5, 3, 6});
  Attributes axis;
  axis.set("axis", int64_t{1});
  check_close(run_op(OpKind::Concat, {iota({2, 1}), iota({2, 2}, 10)}, axis)[0], {1, 10, 11, 2, 12, 13});
  Tensor starts = Tensor::from_int64s({1}, {1}), ends = Tensor::from_int64s({100}, {1});
  check_close(run_op(OpKind::Slice, {iota({5}), starts, ends})[0], {2, 3, 4, 5});
}

TEST_CASE("Gather with an out-of-range index is an error, not a crash") {
  Tensor idx = Tensor::from_int64s({0, 7}, {2});
  CHECK_THROWS_AS(run_op(OpKind::Gather, {iota({3}), idx}), Error);
  Tensor neg = Tensor::from_int64s({-1}, {1});
  check_close(run_op(OpKind::Gather, {iota({3}), neg})[0], {3});
}
