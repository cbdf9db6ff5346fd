// Dead-code elimination: removes nodes none of whose outputs reaches a graph output, and
// constants nothing reads.
//   before: %y = Relu(%x); %unused = Sigmoid(%x); output %y
//   after:  %y = Relu(%x); output %y
#pragma once
#include "passes/pass.h"

namespace nnc {

bool eliminate_dead_code(Graph& g, const PassOptions& opts);

}  // namespace nnc
