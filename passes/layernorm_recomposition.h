// LayerNormalization recomposed from the formula exporters write out:
//   m = ReduceMean(x, axes=[-1]); d = Sub(x, m); v = ReduceMean(Pow(d, 2), axes=[-1])
//   y = Div(d, Sqrt(Add(v, eps))) [ * gamma ] [ + beta ]
//   -> y = LayerNormalization(x, gamma (ones if absent), beta, axis=-1, epsilon=eps)
// Preconditions: both reductions over the same trailing axes (one or more, given as
// attribute or constant input) with keepdims=1; eps, gamma and beta constants; every
// intermediate used only inside the pattern.
#pragma once
#include "passes/pass.h"

namespace nnc {

bool recompose_layernorm(Graph& g, const PassOptions& opts);

}  // namespace nnc
