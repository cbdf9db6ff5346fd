// A readable text form of the IR, used by `nnc info --ir`, pass tests and debugging:
//
//   graph main (opset 17)
//     input  %x: float32[N,3,32,32]
//     init   %w: float32[8,3,3,3]
//     %y = Conv(%x, %w) {pads=[1,1,1,1]} : float32[N,8,32,32]
//     output %y
#pragma once
#include <string>

#include "ir/graph.h"

namespace nnc {

std::string print_graph(const Graph& g);

}  // namespace nnc
