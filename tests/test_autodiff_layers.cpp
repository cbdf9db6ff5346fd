// Autodiff of the layer ops (passes/gradient_table_layers.cpp) against finite differences:
// Gemm, Conv (strided, dilated, grouped, depthwise, SAME padding, 1-D), ConvTranspose, the pools,
// LayerNormalization, Gather, Slice, Dropout and the reductions.
#include "tests/gradient_check.h"

using namespace nnc;
using namespace nnc::testing;

namespace {

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> list) {
  Attributes a;
  for (const auto& [name, v] : list) a.set(name, v);
  return a;
}

using Ints = std::vector<int64_t>;

}  // namespace

TEST_CASE("Gemm's gradient for every transA/transB, with alpha, beta and a broadcast C") {
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1}) {
      INFO("transA " << ta << " transB " << tb);
      Shape a = ta ? Shape{3, 2} : Shape{2, 3}, b = tb ? Shape{4, 3} : Shape{3, 4};
      check_gradient(GradCase{OpKind::Gemm, {a, b, {4}}, {{2, 4}},
                              attrs({{"transA", ta}, {"transB", tb}, {"alpha", 0.7f}, {"beta", 1.5f}})});
    }
}

TEST_CASE("Conv's gradient: padded, strided with unused rows, dilated, grouped, depthwise, SAME, 1-D") {
  check_gradient(GradCase{OpKind::Conv, {{2, 3, 5, 5}, {4, 3, 3, 3}, {4}}, {{2, 4, 5, 5}}, attrs({{"pads", Ints{1, 1, 1, 1}}})});
  check_gradient(GradCase{OpKind::Conv, {{1, 2, 7, 5}, {3, 2, 2, 3}}, {{1, 3, 3, 2}}, attrs({{"strides", Ints{2, 2}}})});
  check_gradient(GradCase{OpKind::Conv, {{1, 2, 6, 6}, {2, 2, 2, 2}}, {{1, 2, 4, 4}}, attrs({{"dilations", Ints{2, 2}}})});
  check_gradient(GradCase{OpKind::Conv, {{1, 4, 5, 5}, {6, 2, 3, 3}}, {{1, 6, 5, 5}},
                          attrs({{"group", int64_t{2}}, {"pads", Ints{1, 1, 1, 1}}})});
  check_gradient(GradCase{OpKind::Conv, {{2, 3, 4, 4}, {3, 1, 3, 3}, {3}}, {{2, 3, 4, 4}},
                          attrs({{"group", int64_t{3}}, {"pads", Ints{1, 0, 1, 2}}})});
  check_gradient(GradCase{OpKind::Conv, {{1, 2, 5, 5}, {2, 2, 3, 3}}, {{1, 2, 3, 3}},
                          attrs({{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}})});
  check_gradient(GradCase{OpKind::Conv, {{2, 2, 7}, {3, 2, 3}}, {{2, 3, 5}}});
}

TEST_CASE("ConvTranspose's gradient, strided with pads and output_padding") {
  check_gradient(GradCase{OpKind::ConvTranspose, {{1, 2, 3, 3}, {2, 3, 3, 3}, {3}}, {{1, 3, 5, 5}},
                          attrs({{"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}})});
  check_gradient(GradCase{OpKind::ConvTranspose, {{1, 2, 3, 3}, {2, 1, 2, 2}}, {{1, 2, 7, 7}},
                          attrs({{"strides", Ints{2, 2}}, {"output_padding", Ints{1, 1}}, {"group", int64_t{2}}})});
}

TEST_CASE("pool gradients: MaxPool (disjoint windows, with uncovered rows, and overlapping ones), AveragePool (with and without pads counted), global pools") {
  check_gradient(GradCase{OpKind::MaxPool, {{2, 2, 4, 4}}, {{2, 2, 2, 2}}, attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}})});
  check_gradient(GradCase{OpKind::MaxPool, {{1, 2, 5, 7}}, {{1, 2, 2, 3}}, attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}})});
  check_gradient(GradCase{OpKind::MaxPool, {{1, 2, 4, 4}}, {{1, 2, 4, 4}}, attrs({{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 1, 1, 1}}})});
  for (int64_t include : {0, 1})
    check_gradient(GradCase{OpKind::AveragePool, {{1, 2, 5, 5}}, {{1, 2, 3, 3}},
                            attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}},
                                   {"count_include_pad", include}})});
  check_gradient(OpKind::GlobalAveragePool, {{2, 3, 3, 3}}, {2, 3, 1, 1});
  check_gradient(OpKind::GlobalMaxPool, {{2, 3, 3, 3}}, {2, 3, 1, 1});
}

TEST_CASE("LayerNormalization's gradient over the last axis and over the last two") {
  check_gradient(GradCase{OpKind::LayerNormalization, {{2, 3, 4}, {4}, {4}}, {{2, 3, 4}}});
  check_gradient(GradCase{OpKind::LayerNormalization, {{2, 3, 4}, {3, 4}}, {{2, 3, 4}}, attrs({{"axis", int64_t{1}}})});
}

TEST_CASE("Gather's gradient adds rows back at their (also negative, repeated) indices, and Slice's pads back") {
  check_gradient(GradCase{OpKind::Gather, {{5, 3}}, {{2, 2, 3}}, {}, {Tensor::from_int64s({0, 4, -1, 0}, {2, 2})}});
  check_gradient(GradCase{OpKind::Gather, {{2, 4, 3}}, {{2, 3, 3}}, attrs({{"axis", int64_t{1}}}), {int64s({1, -1, 1})}});
  check_gradient(GradCase{OpKind::Slice, {{4, 5}}, {{2, 3}}, {}, {int64s({1, 1}), int64s({3, -1}), int64s({0, 1})}});
}

TEST_CASE("reduction gradients: SumSquare, L1, L2, LogSum, LogSumExp, Prod, Max, Min") {
  for (OpKind op : {OpKind::ReduceSumSquare, OpKind::ReduceL1, OpKind::ReduceL2, OpKind::ReduceLogSumExp, OpKind::ReduceProd,
                    OpKind::ReduceMax, OpKind::ReduceMin}) {
    check_gradient(GradCase{op, {{2, 3}}, {{2}}, attrs({{"axes", Ints{1}}, {"keepdims", int64_t{0}}})});
    check_gradient(GradCase{op, {{2, 3}}, {{1, 1}}});
  }
  check_gradient(GradCase{OpKind::ReduceLogSum, {{2, 3}}, {{1, 3}}, attrs({{"axes", Ints{0}}}), {}, 0.5, 2});
  check_gradient(GradCase{OpKind::ReduceMean, {{2, 3, 2}}, {{2, 1, 2}}, attrs({{"axes", Ints{1}}})});
}

TEST_CASE("Dropout in inference mode passes the gradient through") {
  check_gradient(OpKind::Dropout, {{2, 3}}, {2, 3});
}
