// The reference interpreter: runs a Graph node by node with the plain kernels of
// runtime/ref/. It is the oracle the optimised backends and the passes are checked against.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace nnc {

using TensorMap = std::map<std::string, Tensor>;

// Runs g on the named inputs and returns its outputs in graph-output order. Inputs are
// checked against the declared dtypes and static dims; errors name the node at fault.
std::vector<Tensor> run_reference(const Graph& g, const TensorMap& inputs);

// Lists the nodes the reference interpreter has no kernel for ("Op 'name'").
std::vector<std::string> unsupported_nodes(const Graph& g);

}  // namespace nnc
