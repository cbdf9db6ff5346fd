// The activations of RNN, GRU and LSTM (the names the ONNX spec lists for them), read from
// a node's attributes; shared by the reference kernels and the CPU lowering.
#pragma once
#include <string>
#include <vector>

#include "ir/attributes.h"

namespace nnc {

enum class ActKind { Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus };

struct RecurrentActivation {
  ActKind kind = ActKind::Tanh;
  double alpha = 0, beta = 0;
};

// The activations of every direction, defaults.size() each (f; f,g; or f,g,h). Without the
// attribute the op's defaults apply; a list for one direction is reused for both. Like
// onnxruntime, activation_alpha / activation_beta values are consumed in order, only by
// the activations that take a parameter; missing ones fall back to the defaults.
// Throws Error for unknown names or a wrong count.
std::vector<RecurrentActivation> recurrent_activations(const Attributes& attrs,
                                                       const std::vector<std::string>& defaults, int64_t num_dirs);

}  // namespace nnc
