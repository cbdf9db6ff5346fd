// Common-subexpression elimination: two nodes with the same op, domain, attributes and
// inputs compute the same values, so the second's outputs are replaced by the first's.
// Equal small constants (same dtype, shape and bytes) are merged first, so that chains
// built on copies of one constant merge too.
//   before: %a = Shape(%x); %b = Shape(%x); %c = Concat(%a, %b)
//   after:  %a = Shape(%x); %c = Concat(%a, %a)
// Random ops are never merged.
#pragma once
#include "passes/pass.h"

namespace nnc {

bool eliminate_common_subexpressions(Graph& g, const PassOptions& opts);

}  // namespace nnc
