// Activations written as formulas become single nnc ops:
//   x * Sigmoid(x)                                  -> Silu(x)
//   x * 0.5 * (1 + Erf(x / sqrt(2)))                -> Gelu(x)        (any association order;
//                                                      x * (1/sqrt(2)) too)
//   0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) -> GeluTanh(x)
// The constants are matched within a relative 1e-4; the intermediates must be used only
// inside the pattern.
#pragma once
#include "passes/pass.h"

namespace nnc {

bool recognize_activations(Graph& g, const PassOptions& opts);

}  // namespace nnc
