// Starter models for `nnc new`: small classifiers written with the Builder in plain ONNX ops,
// ready to train or to use as a base for fine-tuning.
//
//   StarterOptions o;                                     // 1x28x28 inputs, 10 classes
//   auto g = build_starter_model("mlp", o);               // x [N,784] -> logits [N,10], He-initialised
//   replace_head(*g, 2, InitScheme::XavierUniform, 7);    // now logits [N,2]
//
// Every model has one input "x" with a symbolic batch dim N and one output "logits" [N, classes].
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frontend/initializers.h"
#include "ir/graph.h"

namespace nnc {

struct StarterOptions {
  Shape input = {1, 28, 28};                 // per-sample input shape (channels, height, width)
  int64_t classes = 10;
  std::vector<int64_t> hidden = {300, 100};  // mlp: hidden layer widths; glu-mlp: uses hidden[0] as the gated width (default 256 if empty)
  int64_t width = 32;                        // cnn/resnet: channels of the first conv stage
  int64_t blocks = 2;                        // resnet: residual blocks per stage
  double dropout = 0;                        // > 0: a Dropout node (ratio as a constant input) before the classifier (and between MLP hidden layers)
  InitScheme init = InitScheme::HeNormal;
  uint64_t seed = 0;
};

// The kinds build_starter_model knows: "mlp", "cnn", "resnet", "glu-mlp".
const std::vector<std::string>& starter_model_kinds();

// Builds the model (checked and shape-inferred by ONNX, so every dim is known) and initialises
// its weights with initialize_weights(g, o.init, o.seed). Throws nnc::Error for an unknown kind
// (listing the valid ones) or options the model cannot be built with.
//   mlp:     x [N, prod(input)]; fcK = linear -> Relu per hidden width; a last linear to the classes.
//   glu-mlp: x [N, prod(input)]; a SwiGLU block in standard ops, Mul(Mul(a, Sigmoid(a)), u) with
//            a = gate(x), u = up(x); then head.
//   cnn:     x [N, C, H, W]; two stages conv3x3 -> BatchNormalization -> Relu -> MaxPool 2x2 with
//            width and 2*width channels; Flatten; fc1 (128) -> Relu; fc2 to the classes.
//   resnet:  stem conv3x3 -> BN -> Relu; two stages (width, 2*width; the second downsamples by 2
//            with a 1x1 conv + BN shortcut) of `blocks` basic blocks; GlobalAveragePool; Flatten; fc.
std::unique_ptr<Graph> build_starter_model(const std::string& kind, const StarterOptions& o);

// Re-initialises every layer weight (Gemm's B, MatMul's constant 2-D B, Conv/ConvTranspose's W)
// with the scheme and sets their biases (Gemm's C, Conv/ConvTranspose's B) to zero; BatchNorm
// parameters are left alone. Fans: Gemm B linear_fans(shape, transB != 0), MatMul B
// linear_fans(shape, false), Conv and ConvTranspose conv_fans. The k-th weight in node order
// gets the seed seed + k, so results are deterministic.
void initialize_weights(Graph& g, InitScheme scheme, uint64_t seed);

// Replaces the classifier head: the Gemm producing the graph's first output gets a fresh weight
// [classes, in] (or [in, classes] when transB = 0), initialised with the scheme, and a zero bias
// [classes]; the output's last dim becomes `classes`. Throws nnc::Error when the first output is
// not produced by a Gemm with a constant weight, or is also read by other nodes.
void replace_head(Graph& g, int64_t classes, InitScheme scheme, uint64_t seed);
// Adds a head on top of the first output [N, F]: ReLU, then a fresh Gemm F -> classes
// ("head.weight" [classes, F], zero "head.bias") initialised with the scheme. The new output
// keeps the old output's name.
void add_head(Graph& g, int64_t classes, InitScheme scheme, uint64_t seed);

// The parameter count `nnc new` prints: elements of floating-point initializers (BatchNorm's
// running statistics included), leaving out Dropout's ratio constants.
int64_t count_parameters(const Graph& g);

}  // namespace nnc
