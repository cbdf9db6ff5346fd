// The CPU backend against the reference interpreter (the oracle), on shapes that miss the
// vector width and tile sizes; thread safety; the memory plan; the kernel cache.
#include <Halide.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "codegen/cpu/kernel_cache.h"
#include "codegen/cpu/lowering.h"
#include "frontend/builder.h"
#include "frontend/onnx.h"
#include "runtime/memory_plan.h"
#include "runtime/session.h"

using namespace nnc;

namespace {

Tensor random_tensor(Shape shape, uint64_t seed) {
  Tensor t(DType::Float32, std::move(shape));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// Largest |a - b| / (1 + |b|) over the elements.
double max_rel_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, std::fabs(a.at_double(i) - b.at_double(i)) / (1 + std::fabs(b.at_double(i))));
  return worst;
}

// Compiles g, runs it and the reference interpreter on `inputs`, and checks that every node
// ran in a compiled kernel and that the outputs agree.
void check_against_reference(std::shared_ptr<const Graph> g, const TensorMap& inputs, double tol = 1e-4) {
  Session cpu(g);
  std::vector<Tensor> got = cpu.run_tensors(inputs);
  std::vector<Tensor> want = run_reference(*g, inputs);
  REQUIRE(cpu.program());
  CHECK(cpu.program()->fallback_nodes().empty());
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(max_rel_diff(got[i], want[i]) < tol);
}

// A small CNN with odd sizes: conv (padded, strided) + BN + ReLU, a residual add, pooling, Gemm.
std::shared_ptr<const Graph> odd_cnn() {
  Builder b("odd_cnn", 7);
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(3), Dim::fixed(13), Dim::fixed(11)});
  Value* c1 = b.relu(b.batch_norm(b.conv2d(x, 3, 37, 3, 1, 1, "c1"), 37, "bn1"));
  Value* c2 = b.conv2d(c1, 37, 37, 3, 1, 1, "c2");
  Value* r = b.relu(b.add(c2, c1));
  Value* c3 = b.relu(b.conv2d(r, 37, 20, 1, 2, 0, "c3"));
  Value* p = b.flatten(b.global_avg_pool(c3));
  b.output(b.softmax(b.linear(p, 20, 10, "fc")), "y");
  return b.finish();
}

}  // namespace

TEST_CASE("cpu backend: a CNN with odd sizes matches the reference", "[cpu]") {
  check_against_reference(odd_cnn(), {{"x", random_tensor({2, 3, 13, 11}, 1)}});
}

TEST_CASE("cpu backend: batched MatMul with broadcasting and odd sizes matches the reference", "[cpu]") {
  Builder b("mm", 3);
  Value* a = b.input("a", DType::Float32, {Dim::fixed(3), Dim::fixed(33), Dim::fixed(17)});
  Value* w = b.random_param("w", {17, 45}, 1.0f);
  Value* bias = b.random_param("bias", {45}, 1.0f);
  b.output(b.op(OpKind::Relu, {b.add(b.op(OpKind::MatMul, {a, w}), bias)}), "y");
  check_against_reference(b.finish(), {{"a", random_tensor({3, 33, 17}, 2)}});
}

// Convolutions that take the other loop nests: rows of 32 or more pixels (vectorised along
// the row) with a channel count that misses the 8-channel panels, strided and padded; a
// wide 1x1 with many input channels; a depthwise 3x3.
TEST_CASE("cpu backend: wide-row, many-channel and depthwise convolutions match the reference", "[cpu]") {
  Builder b("wide", 11);
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(5), Dim::fixed(9), Dim::fixed(70)});
  Value* c1 = b.relu(b.conv2d(x, 5, 13, 3, 1, 1, "c1"));
  Value* c2 = b.conv2d(c1, 13, 19, 3, 2, 1, "c2");      // 35 wide
  Value* c3 = b.conv2d(c2, 19, 160, 1, 1, 0, "c3");     // 35 wide
  Value* c4 = b.conv2d(c3, 160, 33, 1, 1, 0, "c4");     // 160 input channels
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{3, 3});
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  a.set("group", int64_t{33});
  Value* dw = b.op(OpKind::Conv, {c4, b.random_param("dw", {33, 1, 3, 3}, 0.5f)}, a);
  b.output(b.add(dw, c4), "y");
  check_against_reference(b.finish(), {{"x", random_tensor({2, 5, 9, 70}, 7)}});
}

// A 1x1 convolution of 2100 input channels as a GEMM over the image's 81 pixels: its k loop
// runs in two chunks (2048 and a partial one), with a residual add and a ReLU in the epilogue.
TEST_CASE("cpu backend: a 1x1 convolution of more input channels than one k chunk matches the reference", "[cpu]") {
  Builder b("deep1x1", 11);
  Value* x = b.input("x", DType::Float32, {Dim::fixed(1), Dim::fixed(2100), Dim::fixed(9), Dim::fixed(9)});
  Value* z = b.input("z", DType::Float32, {Dim::fixed(1), Dim::fixed(20), Dim::fixed(9), Dim::fixed(9)});
  b.output(b.relu(b.add(b.conv2d(x, 2100, 20, 1, 1, 0, "c"), z)), "y");
  check_against_reference(b.finish(), {{"x", random_tensor({1, 2100, 9, 9}, 14)}, {"z", random_tensor({1, 20, 9, 9}, 15)}});
}

// Strided convolutions of few input channels (the first layers of image models) run along
// the row over the input split into phases of columns: a 7x7 window, stride 2, padded (38
// wide: blocks of 16 pixels); a 3x3 one unpadded (37 wide), whose phases read a clamped
// copy past the row's end; stride 3 with a 5x5 window over 4 channels (33 wide); 60 wide
// (blocks of 32); 13 output channels, missing the panels of 8 and 16.
TEST_CASE("cpu backend: strided convolutions of few input channels, along the row, match the reference", "[cpu]") {
  Builder b("first_layers", 17);
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(3), Dim::fixed(23), Dim::fixed(75)});
  b.output(b.relu(b.conv2d(x, 3, 13, 7, 2, 3, "k7")), "y1");                  // 12 x 38
  b.output(b.conv2d(x, 3, 16, 3, 2, 0, "k3"), "y2");                          // 11 x 37
  Value* x4 = b.input("x4", DType::Float32, {Dim::fixed(1), Dim::fixed(4), Dim::fixed(17), Dim::fixed(103)});
  b.output(b.conv2d(x4, 4, 24, 5, 3, 0, "s3"), "y3");                         // 5 x 33
  Value* wide = b.input("wide", DType::Float32, {Dim::fixed(1), Dim::fixed(3), Dim::fixed(9), Dim::fixed(120)});
  b.output(b.conv2d(wide, 3, 32, 3, 2, 1, "w32"), "y4");                      // 5 x 60
  check_against_reference(b.finish(), {{"x", random_tensor({2, 3, 23, 75}, 31)},
                                       {"x4", random_tensor({1, 4, 17, 103}, 32)},
                                       {"wide", random_tensor({1, 3, 9, 120}, 33)}});
}

// Depthwise and grouped convolutions in blocks of one vector x up to 4 rows: rows that miss
// the vector width (10 wide with 8-wide vectors, 35 with 16) and the 4-row block (3 and 9
// rows), stride 2, a dilated 5x5 window, two channels per group, and planes narrower than a
// vector (7 wide), which take the predicated one-row path.
TEST_CASE("cpu backend: depthwise and grouped convolutions over odd planes match the reference", "[cpu]") {
  Builder b("depthwise", 19);
  auto grouped = [&](Value* x, int64_t channels, int64_t group, int64_t k, int64_t stride, int64_t dilation,
                     const std::string& name) {
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    int64_t pad = (k - 1) / 2 * dilation;
    a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("dilations", std::vector<int64_t>{dilation, dilation});
    a.set("group", group);
    Value* w = b.random_param(name + "_w", {channels, channels / group, k, k}, 0.5f);
    return b.op(OpKind::Conv, {x, w, b.random_param(name + "_b", {channels}, 0.5f)}, a);
  };
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(6), Dim::fixed(9), Dim::fixed(10)});
  b.output(b.relu(grouped(x, 6, 6, 3, 1, 1, "dw")), "y1");              // 10 wide, 9 rows
  b.output(grouped(x, 6, 3, 3, 1, 1, "g2"), "y2");                      // 2 channels per group
  b.output(grouped(x, 6, 6, 5, 1, 2, "dil"), "y3");                     // dilated 5x5
  Value* z = b.input("z", DType::Float32, {Dim::fixed(1), Dim::fixed(5), Dim::fixed(6), Dim::fixed(70)});
  b.output(grouped(z, 5, 5, 3, 2, 1, "s2"), "y4");                      // 35 wide, 3 rows
  Value* n = b.input("n", DType::Float32, {Dim::fixed(1), Dim::fixed(4), Dim::fixed(7), Dim::fixed(7)});
  b.output(grouped(n, 4, 4, 3, 1, 1, "narrow"), "y5");                  // 7 wide
  // Strided rows narrower than a vector (mobilenet_v2's 28 -> 14 and efficientnet_b0's 5x5
  // 13 -> 7 shapes, whose vectors read past the row ends of the input's phases), dilated and
  // strided, unpadded and strided, and wide and strided, whose last vector shifts inwards; an
  // unpadded 1x1 window over 7-wide rows and a 3x3 stride-2 one making 4-wide rows, read past
  // their ends from a clamped copy.
  Value* s = b.input("s", DType::Float32, {Dim::fixed(1), Dim::fixed(24), Dim::fixed(28), Dim::fixed(28)});
  b.output(grouped(s, 24, 24, 3, 2, 1, "s2n"), "y6");                   // 14 wide
  Value* t = b.input("t", DType::Float32, {Dim::fixed(1), Dim::fixed(8), Dim::fixed(13), Dim::fixed(13)});
  b.output(grouped(t, 8, 8, 5, 2, 1, "s2k5"), "y7");                    // 7 wide
  b.output(grouped(x, 6, 6, 3, 2, 2, "s2dil"), "y8");                   // dilated, 5 wide
  b.output(grouped(x, 6, 6, 1, 3, 1, "s3k1"), "y9");                    // no pads, stride 3
  Value* u = b.input("u", DType::Float32, {Dim::fixed(1), Dim::fixed(4), Dim::fixed(9), Dim::fixed(113)});
  Value* u35 = b.input("u35", DType::Float32, {Dim::fixed(1), Dim::fixed(4), Dim::fixed(7), Dim::fixed(35)});
  b.output(grouped(u, 4, 4, 3, 2, 1, "s2wide"), "y10");                 // 57 wide: 4 vectors
  b.output(grouped(n, 4, 4, 1, 1, 1, "k1narrow"), "y11");               // no pads, 7 wide
  b.output(grouped(n, 4, 4, 3, 2, 1, "s2four"), "y13");                 // 4 wide, reading past the row
  Attributes unpadded;  // 5x5, stride 2, no pads over 35 columns: 16 wide, reading all 35
  unpadded.set("kernel_shape", std::vector<int64_t>{5, 5});
  unpadded.set("strides", std::vector<int64_t>{2, 2});
  unpadded.set("group", int64_t{4});
  b.output(b.op(OpKind::Conv, {u35, b.random_param("s2k5_unpadded_w", {4, 1, 5, 5}, 0.5f)}, unpadded), "y12");
  // Planes whose padded copy passes L1's 32 KB are padded per band of 8 output rows: 99 rows
  // at stride 1 and 50 at stride 2, each ending in a partial band.
  Value* big = b.input("big", DType::Float32, {Dim::fixed(1), Dim::fixed(3), Dim::fixed(99), Dim::fixed(90)});
  b.output(b.relu(grouped(big, 3, 3, 3, 1, 1, "band")), "y14");         // 90 wide
  b.output(grouped(big, 3, 3, 3, 2, 1, "band_s2"), "y15");              // 45 wide
  check_against_reference(b.finish(), {{"x", random_tensor({2, 6, 9, 10}, 31)},
                                       {"big", random_tensor({1, 3, 99, 90}, 38)},
                                       {"z", random_tensor({1, 5, 6, 70}, 32)},
                                       {"n", random_tensor({1, 4, 7, 7}, 33)},
                                       {"s", random_tensor({1, 24, 28, 28}, 34)},
                                       {"t", random_tensor({1, 8, 13, 13}, 35)},
                                       {"u", random_tensor({1, 4, 9, 113}, 36)},
                                       {"u35", random_tensor({1, 4, 7, 35}, 37)}});
}

TEST_CASE("cpu backend: windowed convolutions over many input channels, accumulated in chunks of 16 channels, match the reference", "[cpu]") {
  Builder b("chunks", 13);
  // 40 and 37 input channels: two whole chunks of 16 and a partial one; 37 output channels: a
  // partial panel; rows of 9 and 5 pixels: partial row tiles. 5 x 9 pixels are too few for
  // Winograd's kernel (15 tiles of 2 x 2).
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(40), Dim::fixed(5), Dim::fixed(9)});
  Value* c1 = b.relu(b.conv2d(x, 40, 37, 3, 1, 1, "c1"));
  Value* c2 = b.conv2d(c1, 37, 50, 3, 2, 1, "c2");  // 3 x 5
  b.output(c2, "y");
  check_against_reference(b.finish(), {{"x", random_tensor({2, 40, 5, 9}, 17)}});
}

// 3x3 stride-1 convolutions of at least 32 channels and 16 output tiles (2x2 pixels each) run
// by Winograd's F(2x2, 3x3): odd rows and columns (a tile half outside the image), 48 and 96
// output channels (a partial panel of 32; more than two panels, whose input is transformed
// before the tasks), 40 and 70 input channels (chunks of 16 and a partial one), 100 tiles
// and more (chunks of 64), no padding, a batch of 2, and a residual add and ReLU in the
// epilogue.
TEST_CASE("cpu backend: 3x3 convolutions by Winograd's F(2x2, 3x3) match the reference", "[cpu]") {
  Builder b("winograd", 23);
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(40), Dim::fixed(13), Dim::fixed(11)});
  Value* r = b.input("r", DType::Float32, {Dim::fixed(2), Dim::fixed(48), Dim::fixed(13), Dim::fixed(11)});
  Value* c1 = b.relu(b.add(b.conv2d(x, 40, 48, 3, 1, 1, "c1"), r));  // 7 x 6 tiles
  Value* c2 = b.conv2d(c1, 48, 96, 3, 1, 1, "c2");
  b.output(b.conv2d(c2, 96, 32, 3, 1, 0, "c3"), "y");                // 11 x 9: 6 x 5 tiles
  Value* z = b.input("z", DType::Float32, {Dim::fixed(1), Dim::fixed(70), Dim::fixed(24), Dim::fixed(22)});
  b.output(b.conv2d(z, 70, 32, 3, 1, 0, "c4"), "y4");                // 22 x 20: 11 x 10 tiles
  check_against_reference(b.finish(), {{"x", random_tensor({2, 40, 13, 11}, 41)},
                                       {"r", random_tensor({2, 48, 13, 11}, 42)},
                                       {"z", random_tensor({1, 70, 24, 22}, 43)}});
}

TEST_CASE("cpu backend: 1x1 convolutions run as GEMMs over the flattened pixels, with their epilogues", "[cpu]") {
  Builder b("flat", 17);
  // 9 x 11 = 99 pixels: panels of 16 (99 % 32 = 3), the last overlapping the one before; 300
  // input channels: a long k loop in registers (more than one chunk: the 2100-channel test
  // above); 13 output channels: fewer than a tile's 16 rows; 70 (c2): a partial tile. c3's
  // 9 x 10 = 90 pixels make panels of 32, the last overlapping.
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(300), Dim::fixed(9), Dim::fixed(11)});
  Value* r = b.input("r", DType::Float32, {Dim::fixed(2), Dim::fixed(13), Dim::fixed(9), Dim::fixed(11)});
  Value* c1 = b.conv2d(x, 300, 13, 1, 1, 0, "c1");
  // A residual add, a ReLU and a per-channel scale ([13, 1, 1]) are flattened with it.
  Value* s = b.op(OpKind::Mul, {b.relu(b.add(c1, r)), b.random_param("scale", {13, 1, 1}, 1.0f)});
  // A tensor varying along W alone cannot be flattened: the Add gets its own kernel.
  Value* c2 = b.conv2d(s, 13, 70, 1, 1, 0, "c2");
  b.output(b.add(c2, b.random_param("row", {11}, 1.0f)), "y");
  // A strided one gathers the 9 x 10 pixels it reads first.
  Value* z = b.input("z", DType::Float32, {Dim::fixed(1), Dim::fixed(20), Dim::fixed(17), Dim::fixed(19)});
  b.output(b.relu(b.conv2d(z, 20, 24, 1, 2, 0, "c3")), "y3");
  std::shared_ptr<const Graph> g = b.finish();
  check_against_reference(g, {{"x", random_tensor({2, 300, 9, 11}, 21)},
                              {"r", random_tensor({2, 13, 9, 11}, 22)},
                              {"z", random_tensor({1, 20, 17, 19}, 23)}});
  Session session(g);
  REQUIRE(session.program());
  std::vector<size_t> flat_group_sizes;
  for (const Step& step : session.program()->steps)
    if (!step.views.empty()) flat_group_sizes.push_back(step.nodes.size());
  std::sort(flat_group_sizes.begin(), flat_group_sizes.end());
  CHECK(flat_group_sizes == std::vector<size_t>{1, 2, 4});  // c2 alone; c3 + Relu; c1 + Add + Relu + Mul
}

TEST_CASE("cpu backend: 1x1 convolutions on small images vectorise along the output channels", "[cpu]") {
  Builder b("small_images", 17);
  // 9 x 11 = 99 pixels in tiles of 11; 600 input channels: four chunks of 128 and a partial
  // one; 64 output channels: two blocks of 32, so the pixels split too, into three blocks of
  // three tiles (copied per chunk). A residual add and a ReLU in the epilogue.
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(600), Dim::fixed(9), Dim::fixed(11)});
  Value* r = b.input("r", DType::Float32, {Dim::fixed(2), Dim::fixed(64), Dim::fixed(9), Dim::fixed(11)});
  b.output(b.relu(b.add(b.conv2d(x, 600, 64, 1, 1, 0, "c1"), r)), "y1");
  // 7 x 7 = 49 pixels (fewer than a 1x1 convolution otherwise flattens) in tiles of 7, with 40
  // input channels: 96 output channels in blocks of 16 (three of 32 would not share evenly),
  // then 128 in blocks of 64.
  Value* z = b.input("z", DType::Float32, {Dim::fixed(1), Dim::fixed(40), Dim::fixed(7), Dim::fixed(7)});
  Value* c2 = b.relu(b.conv2d(z, 40, 96, 1, 1, 0, "c2"));
  b.output(b.conv2d(c2, 96, 128, 1, 1, 0, "c3"), "y3");
  // Strided: the 7 x 7 pixels it reads out of 13 x 13 are gathered first.
  Value* s = b.input("s", DType::Float32, {Dim::fixed(1), Dim::fixed(24), Dim::fixed(13), Dim::fixed(13)});
  b.output(b.conv2d(s, 24, 64, 1, 2, 0, "c4"), "y4");
  // Weights given at run time (as in training) are packed per call.
  Value* w = b.input("w", DType::Float32, {Dim::fixed(64), Dim::fixed(40), Dim::fixed(1), Dim::fixed(1)});
  b.output(b.op(OpKind::Conv, {z, w}), "y5");
  std::shared_ptr<const Graph> g = b.finish();
  check_against_reference(g, {{"x", random_tensor({2, 600, 9, 11}, 31)},
                              {"r", random_tensor({2, 64, 9, 11}, 32)},
                              {"z", random_tensor({1, 40, 7, 7}, 33)},
                              {"s", random_tensor({1, 24, 13, 13}, 34)},
                              {"w", random_tensor({64, 40, 1, 1}, 35)}});
  Session session(g);
  REQUIRE(session.program());
  size_t flat = 0;
  for (const Step& step : session.program()->steps) flat += !step.views.empty();
  CHECK(flat == 5);  // c1 (with its Add and Relu), c2 (with its Relu), c3, c4 and y5, all flattened
  CHECK(cpu::channels_tile(99, 64, 600) == 11);
  CHECK(cpu::channels_tile(49, 128, 96) == 7);
  CHECK(cpu::channels_tile(196, 256, 256) == 0);  // a short k loop: pixels as the vector dimension
  CHECK(cpu::channels_tile(49, 100, 96) == 0);    // channels that miss the 32-channel blocks
}

TEST_CASE("cpu backend: 2-D max pooling in row then column passes matches the reference, NaN and padding included", "[cpu]") {
  Builder b("maxpool", 13);
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(3), Dim::fixed(13), Dim::fixed(37)});
  auto pool = [&](std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> pads, int64_t ceil) {
    Attributes a;
    a.set("kernel_shape", k);
    a.set("strides", s);
    a.set("pads", pads);
    a.set("ceil_mode", ceil);
    return b.op(OpKind::MaxPool, {x}, a);
  };
  b.output(pool({3, 3}, {2, 2}, {1, 1, 1, 1}, 0), "resnet");     // 7 x 19: a partial vector
  b.output(pool({2, 3}, {2, 2}, {0, 1, 0, 0}, 1), "ceil");       // asymmetric pads, ceil_mode
  b.output(pool({2, 2}, {1, 3}, {2, 2, 2, 2}, 0), "all_pad");    // windows wholly in the padding
  std::shared_ptr<const Graph> g = b.finish();
  Tensor in = random_tensor({2, 3, 13, 37}, 41);
  for (int64_t i : {0, 40, 500, 2000}) in.data<float>()[i] = NAN;
  TensorMap feeds = {{"x", in}};
  Session cpu(g);
  std::vector<Tensor> got = cpu.run_tensors(feeds), want = run_reference(*g, feeds);
  REQUIRE(cpu.program());
  CHECK(cpu.program()->fallback_nodes().empty());
  REQUIRE(got.size() == want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    REQUIRE(got[o].shape() == want[o].shape());
    int64_t nans = 0, mismatches = 0;
    for (int64_t i = 0; i < got[o].numel(); ++i) {
      float a = got[o].data<float>()[i], e = want[o].data<float>()[i];
      nans += std::isnan(e);
      mismatches += std::isnan(e) ? !std::isnan(a) : a != e;  // a maximum is one of the inputs: exact
    }
    CHECK(nans > 0);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("cpu backend: global average pooling over flattened planes matches the reference", "[cpu]") {
  Builder b("global_pool", 11);
  // Planes summed flat in vectors of 16: 19x37 = 43 vectors and 15 more, with batch 2 and an
  // epilogue (ReLU); 4x16: whole vectors only; 7x7: 3 and 1 more; a 1-D row of 5: no whole vector.
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(5), Dim::fixed(19), Dim::fixed(37)});
  Value* e = b.input("e", DType::Float32, {Dim::fixed(1), Dim::fixed(700), Dim::fixed(4), Dim::fixed(16)});
  Value* n = b.input("n", DType::Float32, {Dim::fixed(1), Dim::fixed(9), Dim::fixed(7), Dim::fixed(7)});
  Value* s = b.input("s", DType::Float32, {Dim::fixed(2), Dim::fixed(3), Dim::fixed(5)});
  b.output(b.relu(b.global_avg_pool(x)), "wide");
  b.output(b.global_avg_pool(e), "exact");
  b.output(b.global_avg_pool(n), "narrow");
  b.output(b.global_avg_pool(s), "short");
  check_against_reference(b.finish(), {{"x", random_tensor({2, 5, 19, 37}, 51)},
                                       {"e", random_tensor({1, 700, 4, 16}, 52)},
                                       {"n", random_tensor({1, 9, 7, 7}, 53)},
                                       {"s", random_tensor({2, 3, 5}, 54)}});
}

TEST_CASE("cpu backend: MatMul of two runtime batched operands and Gemm with transB and a ragged N match the reference", "[cpu]") {
  Builder b("mm2", 13);
  Value* a = b.input("a", DType::Float32, {Dim::fixed(2), Dim::fixed(3), Dim::fixed(20), Dim::fixed(17)});
  Value* c = b.input("c", DType::Float32, {Dim::fixed(3), Dim::fixed(17), Dim::fixed(40)});
  Value* mm = b.op(OpKind::MatMul, {a, c});  // [2, 3, 20, 40]
  Value* flat = b.op(OpKind::Reshape, {mm, b.constant_ints("shape", {120, 40})});
  Attributes t;
  t.set("transB", int64_t{1});
  Value* g = b.op(OpKind::Gemm, {flat, b.random_param("w", {1001, 40}, 0.5f), b.random_param("bias", {1001}, 0.5f)}, t);
  b.output(g, "y");
  check_against_reference(b.finish(), {{"a", random_tensor({2, 3, 20, 17}, 8)}, {"c", random_tensor({3, 17, 40}, 9)}});
}

TEST_CASE("cpu backend: MatMul of [b, 1, K] by constant weights blocks the batch as rows and matches the reference", "[cpu]") {
  // As torch's TransformerEncoder exports its projections: [seq, 1, d] x [d, n]. 13 rows: one
  // block of 8 and one shifted inwards; N = 70: a partial panel; K = 40 (one k chunk) and 2100
  // (packed weights: two chunks of up to 2048, the second partial), with a bias add and a ReLU
  // in the epilogue.
  Builder b("rows", 13);
  Value* a = b.input("a", DType::Float32, {Dim::fixed(13), Dim::fixed(1), Dim::fixed(40)});
  Value* h = b.relu(b.add(b.op(OpKind::MatMul, {a, b.random_param("w1", {40, 2100}, 0.5f)}), b.random_param("b1", {2100}, 0.5f)));
  b.output(b.op(OpKind::MatMul, {h, b.random_param("w2", {2100, 70}, 0.05f)}), "y");
  check_against_reference(b.finish(), {{"a", random_tensor({13, 1, 40}, 10)}});
}

TEST_CASE("cpu backend: float32 Softmax and LogSoftmax over the last axis match the reference, -inf included", "[cpu]") {
  // 15 rows of 37 (a partial vector; 110 rows to a task) and 2 rows of 700; values up to
  // +-30, so the exponentials span 26 decades; -inf entries, and one row all -inf (NaN).
  Builder b("softmax", 13);
  Value* x = b.input("x", DType::Float32, {Dim::fixed(3), Dim::fixed(5), Dim::fixed(37)});
  Value* z = b.input("z", DType::Float32, {Dim::fixed(2), Dim::fixed(700)});
  b.output(b.op(OpKind::Softmax, {x}), "sx");
  b.output(b.op(OpKind::LogSoftmax, {x}), "lx");
  b.output(b.op(OpKind::Softmax, {z}), "sz");
  b.output(b.op(OpKind::LogSoftmax, {z}), "lz");
  std::shared_ptr<const Graph> g = b.finish();
  Tensor xt = random_tensor({3, 5, 37}, 11), zt = random_tensor({2, 700}, 12);
  for (int64_t i = 0; i < xt.numel(); ++i) xt.data<float>()[i] *= 30;
  for (int64_t i : {3, 40, 41, 300}) xt.data<float>()[i] = -INFINITY;
  for (int64_t i = 74; i < 111; ++i) xt.data<float>()[i] = -INFINITY;  // row 2
  TensorMap feeds = {{"x", xt}, {"z", zt}};
  check_against_reference(g, feeds, 1e-5);
  Session cpu(g);
  std::vector<Tensor> got = cpu.run_tensors(feeds);
  for (int o : {0, 1}) {  // the all -inf row is NaN, as in the reference; the others are not
    CHECK(std::isnan(got[o].data<float>()[74]));
    CHECK(std::isnan(got[o].data<float>()[110]));
    CHECK(!std::isnan(got[o].data<float>()[73]));
  }
  CHECK(got[0].data<float>()[3] == 0.0f);  // exp(-inf)
}

TEST_CASE("cpu backend: element-wise chains fuse into their producer's kernel", "[cpu]") {
  Builder b("chain", 3);
  Value* a = b.input("a", DType::Float32, {Dim::fixed(5), Dim::fixed(19)});
  Value* w = b.random_param("w", {19, 23}, 1.0f);
  Value* y = b.op(OpKind::Tanh, {b.op(OpKind::Sigmoid, {b.op(OpKind::MatMul, {a, w})})});
  b.output(y, "y");
  std::shared_ptr<const Graph> g = b.finish();
  Session s(g);
  REQUIRE(s.program());
  CHECK(s.program()->steps.size() == 1);  // MatMul + Sigmoid + Tanh in one kernel
  check_against_reference(g, {{"a", random_tensor({5, 19}, 4)}});
}

TEST_CASE("cpu backend: element-wise ops on images run over flattened planes, broadcasts included", "[cpu]") {
  Builder b("planes", 5);
  // A squeeze-and-excitation scale: 7x7 planes times a per-channel gate, then a sigmoid; and a
  // row-wise broadcast ([1, 1, 7, 1]), which varies along H alone and keeps the image as it is.
  Value* x = b.input("x", DType::Float32, {Dim::fixed(2), Dim::fixed(40), Dim::fixed(7), Dim::fixed(7)});
  Value* gate = b.input("gate", DType::Float32, {Dim::fixed(2), Dim::fixed(40), Dim::fixed(1), Dim::fixed(1)});
  Value* rows = b.input("rows", DType::Float32, {Dim::fixed(1), Dim::fixed(1), Dim::fixed(7), Dim::fixed(1)});
  b.output(b.op(OpKind::Sigmoid, {b.op(OpKind::Mul, {x, gate})}), "scaled");
  b.output(b.add(x, rows), "by_row");
  check_against_reference(b.finish(), {{"x", random_tensor({2, 40, 7, 7}, 61)},
                                       {"gate", random_tensor({2, 40, 1, 1}, 62)},
                                       {"rows", random_tensor({1, 1, 7, 1}, 63)}});
}

TEST_CASE("cpu backend: one compiled model run from 8 threads gives bit-identical results", "[cpu]") {
  std::shared_ptr<const Graph> g = odd_cnn();
  Session s(g);
  TensorMap in = {{"x", random_tensor({2, 3, 13, 11}, 9)}};
  Tensor single = s.run_tensors(in)[0];
  std::vector<Tensor> results(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) results[t] = s.run_tensors(in)[0];
    });
  for (auto& t : threads) t.join();
  for (const Tensor& r : results) CHECK(r == single);
}

TEST_CASE("cpu backend: symbolic batch sizes are compiled per shape", "[cpu]") {
  Builder b("batch", 5);
  Value* x = b.input("x", DType::Float32, {Dim::sym("N"), Dim::fixed(6)});
  b.output(b.relu(b.linear(x, 6, 4, "fc")), "y");
  std::shared_ptr<const Graph> g = b.finish();
  Session s(g);
  for (int64_t n : {1, 3, 8}) {
    TensorMap in = {{"x", random_tensor({n, 6}, static_cast<uint64_t>(n))}};
    std::vector<Tensor> got = s.run_tensors(in);
    CHECK(got[0].shape() == Shape{n, 4});
    CHECK(max_rel_diff(got[0], run_reference(*g, in)[0]) < 1e-5);
    CHECK(s.program()->fallback_nodes().empty());
  }
}

TEST_CASE("cpu backend: small inputs that set a kernel's parameters are compiled per value, up to a limit", "[cpu]") {
  // ONNX's test_slice: y = x[starts[0]:ends[0], starts[1]:ends[1]] (axes 0 and 1), every
  // bound a graph input, y declared [3, 10, 5].
  std::shared_ptr<const Graph> g = import_onnx_file("/usr/share/libonnx-testdata/data/node/test_slice/model.onnx");
  Session s(g);
  Tensor x(DType::Float32, {20, 10, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i);  // x[a][b][c] = 50a + 5b + c
  auto ints = [](std::vector<int64_t> v) {
    Tensor t(DType::Int64, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data<int64_t>());
    return t;
  };
  auto run = [&](int64_t row) {  // rows row..row+2, all of axis 1
    Tensor y = s.run_tensors({{"x", x}, {"starts", ints({row, 0})}, {"ends", ints({row + 3, 10})},
                              {"axes", ints({0, 1})}, {"steps", ints({1, 1})}})[0];
    REQUIRE(y.shape() == Shape{3, 10, 5});
    for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data<float>()[i] == static_cast<float>(50 * row + i));
  };
  for (int64_t row : {0, 4, 0, 17}) {
    run(row);
    CHECK(s.program()->fallback_nodes().empty());
  }
  // 16 specialisations at most: further values run the general program, with Slice on its
  // reference kernel, as correctly.
  for (int64_t row = 1; row <= 16; ++row) run(row);
  CHECK(s.program()->fallback_nodes().size() == 1);
}

TEST_CASE("cpu backend: wrong input shapes are clear errors", "[cpu]") {
  Session s(odd_cnn());
  CHECK_THROWS_WITH(s.run_tensors({{"x", random_tensor({2, 3, 13, 12}, 1)}}), Catch::Contains("shape"));
}

TEST_CASE("memory plan: values alive at the same time never share bytes, and dead ones are reused", "[cpu]") {
  Program p;
  auto add_slot = [&](int64_t floats) {
    Slot s;
    s.kind = Slot::Arena;
    s.dtype = DType::Float32;
    s.shape = {floats};
    p.slots.push_back(s);
    return static_cast<int>(p.slots.size() - 1);
  };
  // a -> b -> c -> d, each step reading the previous value: a and c can share, b and d can share.
  int a = add_slot(100), b = add_slot(50), c = add_slot(100), d = add_slot(50);
  p.steps.push_back({nullptr, {}, {}, {a}});
  p.steps.push_back({nullptr, {}, {a}, {b}});
  p.steps.push_back({nullptr, {}, {b}, {c}});
  p.steps.push_back({nullptr, {}, {c}, {d}});
  plan_memory(p);
  auto overlap = [&](int x, int y) {
    int64_t x0 = p.slots[x].offset, x1 = x0 + static_cast<int64_t>(p.slots[x].bytes());
    int64_t y0 = p.slots[y].offset, y1 = y0 + static_cast<int64_t>(p.slots[y].bytes());
    return x0 < y1 && y0 < x1;
  };
  CHECK_FALSE(overlap(a, b));
  CHECK_FALSE(overlap(b, c));
  CHECK_FALSE(overlap(c, d));
  // Two live values at most: 400 + 200 bytes (each rounded to 64), not the 600 + 600 of no reuse.
  CHECK(p.arena_bytes == 448 + 256);
  for (const Slot& s : p.slots) CHECK(s.offset % 64 == 0);
}

TEST_CASE("kernel cache: a kernel is compiled once, then loaded from memory and from disk", "[cpu]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("nnc-cache-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  int compiles = 0;
  auto compile = [&](const std::string& obj, const std::string& fn) {
    ++compiles;
    Halide::ImageParam in(Halide::Float(32), 1, "in");
    Halide::Func f("twice");
    Halide::Var x("x");
    f(x) = in(x) * 2.0f;
    f.compile_to_object(obj, {in}, fn, Halide::get_host_target().with_feature(Halide::Target::NoRuntime));
  };
  bool compiled = false;
  {
    cpu::KernelCache cache(dir.string());
    cpu::KernelFn k1 = cache.get("twice-v1", compile, &compiled);
    CHECK(compiled);
    cpu::KernelFn k2 = cache.get("twice-v1", compile, &compiled);
    CHECK_FALSE(compiled);
    CHECK(k1 == k2);
    CHECK(cache.stats().memory_hits == 1);
  }
  cpu::KernelCache fresh(dir.string());  // a later process: the kernel comes from disk
  cpu::KernelFn k3 = fresh.get("twice-v1", compile, &compiled);
  CHECK_FALSE(compiled);
  CHECK(fresh.stats().disk_hits == 1);
  CHECK(compiles == 1);
  // The loaded kernel works: y = 2x.
  float in[3] = {1, 2, 3}, out[3] = {};
  halide_dimension_t d{0, 3, 1, 0};
  halide_buffer_t bin{}, bout{};
  bin.host = reinterpret_cast<uint8_t*>(in), bin.type = {halide_type_float, 32, 1}, bin.dimensions = 1, bin.dim = &d;
  halide_dimension_t d2 = d;
  bout.host = reinterpret_cast<uint8_t*>(out), bout.type = bin.type, bout.dimensions = 1, bout.dim = &d2;
  void* args[2] = {&bin, &bout};
  REQUIRE(k3(args) == 0);
  CHECK(out[2] == 6.0f);
  fs::remove_all(dir);
}
