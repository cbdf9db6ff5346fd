// No-op removal:
//   Identity(x)                     -> x
//   Dropout(x) (inference, no mask) -> x
//   Cast(x, to = type of x)         -> x
//   Pad(x, pads all zero)           -> x
//   Reshape(Reshape(x, s1), s2)     -> Reshape(x, s2)
//   Reshape(x, s) with s = shape(x) -> x             (static shapes)
//   Transpose(Transpose(x, p), q)   -> x when p then q is the identity, else Transpose(x, p∘q)
// A graph output keeps its name: the value that replaces it is renamed.
#pragma once
#include "passes/pass.h"

namespace nnc {

bool remove_noops(Graph& g, const PassOptions& opts);

}  // namespace nnc
