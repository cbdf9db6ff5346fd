// The training graph: one training step of a model as one graph, compiled once and run per batch.
//
//   model(x) -> pred                       training graph(x, target, lr, t, params, state, masks)
//                                ==>          -> loss, pred, params', state'
//
// The model's trainable parameters and all state (optimizer moments, BatchNorm running
// statistics) become graph inputs whose updated values are graph outputs: the caller feeds
// each step's outputs back in. On the way:
// - BatchNormalization runs in training mode: it is written out in primitive ops over the batch
//   statistics (so autodiff differentiates through them), and the running statistics follow
//   running = running·momentum + batch·(1 − momentum), ONNX's formula (batch variance biased).
// - Dropout becomes x·mask, the mask (keep/(1 − ratio) or 0) an input drawn by the caller each step.
// - The loss, then the gradients (passes/autodiff.h), then L1/L2 terms (λ₁·sign(w) + λ₂·w, on
//   weights of rank >= 2), clipping by value, clipping by global norm, and the optimizer's update
//   (passes/optimizers.h).
// Frozen parameters stay initializers: no gradient, and the compiler may pack them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/optimizers.h"

namespace nnc {

enum class LossKind { SoftmaxCrossEntropy, MeanSquaredError, BinaryCrossEntropy };
// "cross-entropy", "mse", "bce"; throws listing them otherwise.
LossKind parse_loss(const std::string& name);
std::string loss_name(LossKind k);

struct TrainingOptions {
  LossKind loss = LossKind::SoftmaxCrossEntropy;  // cross-entropy takes logits and one-hot targets; BCE takes logits
  OptimizerConfig optimizer;
  double l1 = 0, l2 = 0;
  double clip_value = 0, clip_norm = 0;  // 0 = off
  // < 0: each Dropout keeps its ratio. Otherwise every Dropout gets this ratio, and a model
  // without any gets dropout on the input of each Gemm/MatMul that reads a hidden activation.
  double dropout = -1;
  std::vector<std::string> freeze;  // parameter name patterns ('*' and '?' wildcards)
};

// A tensor fed in each step and read back: the input's name and its updated output's name.
struct StepSlot {
  std::string input, output;
};

struct TrainingGraph {
  std::unique_ptr<Graph> graph;
  std::string data, target, lr, step;  // inputs (lr and step: scalars of the parameters' dtype)
  std::string loss, prediction;        // outputs
  std::vector<StepSlot> params;        // trainable parameters (inputs named as the model's initializers)
  std::vector<StepSlot> state;         // optimizer state, then BatchNorm running statistics
  struct Mask {
    std::string input;
    double ratio;
  };
  std::vector<Mask> dropout_masks;
  std::vector<std::string> frozen;     // parameters kept fixed
};

// The model must have one input (batch first) and its prediction as first output; `batch` fixes
// the batch size.
TrainingGraph build_training_graph(const Graph& model, const TrainingOptions& opts, int64_t batch);

// The model for evaluation: BatchNorm in inference mode, Dropout the identity, and every float
// initializer named in `as_inputs` turned into a graph input (so new weights need no new kernels).
std::unique_ptr<Graph> build_eval_graph(const Graph& model, const std::vector<std::string>& as_inputs);

// The model's trainable parameters: float initializers of more than one element read only by
// layers that learn (Gemm, MatMul, Conv, ConvTranspose, the normalisations' scale and bias,
// PRelu, and Add/Sub/Mul/Div), BatchNorm running statistics excepted.
std::vector<std::string> trainable_parameters(const Graph& model);
// BatchNorm running means and variances.
std::vector<std::string> running_statistics(const Graph& model);

// '*' matches any run of characters, '?' one character.
bool matches_pattern(const std::string& name, const std::string& pattern);

// A copy of the graph (through ONNX). With `batch`, every input's first dimension becomes that
// size, or the symbol "batch" when batch <= 0.
std::unique_ptr<Graph> clone_graph(const Graph& g, std::optional<int64_t> batch = std::nullopt);

}  // namespace nnc
