// BatchNormalization folded into the preceding linear op (inference mode).
//
// BN computes y = (x - mu) * s + beta with s = gamma / sqrt(var + eps), per channel c.
// When x = W * a + b is a Conv (W: [Cout, Cin/g, k...]) with output channel c:
//   y = (W * a) * s + (b - mu) * s + beta
// so  W' = W * s[c]  (s reshaped to [Cout, 1, 1, ...])   and   b' = (b - mu) * s + beta,
// with b = 0 when the Conv has no bias. ConvTranspose (group 1) keeps its output channels
// on W's axis 1, so s is reshaped to [1, Cout, 1, ...]. Gemm Y = A B + C (BN on a 2-D
// output, channel = column n): B' = B * s over B's output axis, C' = (C - mu) * s + beta.
// MatMul(A, B) [+ Add(bias)] with a 2-D output: B' = B * s (over columns), and the bias
// becomes (bias - mu) * s + beta (an Add is inserted when there was none).
//
// The new weights are emitted as ordinary ops (Add, Sqrt, Div, Mul, Sub, Reshape) on the
// constants, which fold-constants then evaluates: no per-dtype weight loops here.
// Preconditions: W, b, gamma, beta, mu, var are constants; the producer's output feeds
// only the BN; BN is in inference mode (one output, training_mode 0).
#pragma once
#include "passes/pass.h"

namespace nnc {

bool fold_batchnorm(Graph& g, const PassOptions& opts);

}  // namespace nnc
