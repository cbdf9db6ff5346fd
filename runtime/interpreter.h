// The reference interpreter: runs a Graph node by node with the plain kernels of
// runtime/ref/. It is the oracle the optimised backends and the passes are checked against.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/runtime_value.h"

namespace nnc {

using TensorMap = std::map<std::string, Tensor>;
using ValueMap = std::map<std::string, RuntimeValue>;

// Runs g on the named inputs and returns its outputs in graph-output order. Inputs are
// checked against the declared types and static dims; errors name the node at fault.
RuntimeValues run_reference_values(const Graph& g, const ValueMap& inputs);
// The same for graphs whose inputs and outputs are all tensors (a clear error otherwise).
std::vector<Tensor> run_reference(const Graph& g, const TensorMap& inputs);

// Runs one node on its reference kernel (inputs by position, nullptr = omitted); errors name
// the node. The CPU backend's executor uses it for nodes without a compiled kernel.
RuntimeValues run_node_reference(const Node& n, const std::vector<const RuntimeValue*>& inputs, int64_t opset);

// Lists the nodes the reference interpreter has no kernel for ("Op 'name'"), subgraphs included.
std::vector<std::string> unsupported_nodes(const Graph& g);

}  // namespace nnc
