// Constant folding: a node whose inputs are all constants (initializers) is evaluated by
// the reference interpreter and replaced by its results; Shape and Size of a value whose
// shape is static become constants too, which folds the shape subgraphs exporters emit
// (Shape -> Gather -> Concat -> Reshape) when shapes are static.
//   before: %s = Shape(%x : float32[2,3]); %n = Gather(%s, %zero)
//   after:  %n = <constant int64 2>
// Preconditions: the op is deterministic (not a random op) and has a reference kernel.
// Budget: no folded constant larger than PassOptions::fold_budget_bytes, nor more than 4x
// that in one run; an output whose size is not known before running is folded only when
// its op cannot grow data (not Expand, Tile, ConstantOfShape, Range, Pad, Resize...).
#pragma once
#include "passes/pass.h"

namespace nnc {

bool fold_constants(Graph& g, const PassOptions& opts);

}  // namespace nnc
