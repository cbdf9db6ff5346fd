// Structural checks of a Graph: every node's arity against its ONNX schema, known dtypes,
// no cycles, no dangling values (each input is a graph input, an initializer or produced
// by a node), single producers, graph outputs that exist. Throws nnc::Error naming the
// first node or value at fault.
#pragma once
#include "ir/graph.h"

namespace nnc {

void verify_graph(const Graph& g);

}  // namespace nnc
