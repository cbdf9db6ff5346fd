// GLU-family gates fused into one Gate op (y = u * act(g)):
//   a, b = Split(x, axis, 2 equal halves); a * Sigmoid(b)  -> Gate(x) {activation=Sigmoid, axis}
//   Silu(a) * b                                             -> Gate(b, a) {activation=Silu}   (SwiGLU)
//   Gelu(a) * b, GeluTanh(a) * b                            -> Gate(b, a) {activation=Gelu...} (GeGLU)
// Preconditions: the activation's output is used only by the Mul; for GLU, the Split's
// two outputs are used only by the pattern; a and b have the same static shape (a gate
// never broadcasts).
#pragma once
#include "passes/pass.h"

namespace nnc {

bool fuse_gates(Graph& g, const PassOptions& opts);

}  // namespace nnc
