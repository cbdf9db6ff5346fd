// Shapes for concrete input sizes: a model with symbolic dims (a batch "N") is compiled once
// per set of input shapes; this gives every value's static shape for one such set, through
// ONNX's shape inference (with data propagation, so Shape -> Reshape chains resolve).
#pragma once
#include <map>
#include <string>
#include <unordered_map>

#include "ir/graph.h"

namespace nnc {

// Values whose shape stays unknown (data-dependent ops) are left out. Inputs in
// `input_values` are taken as constants with those values (so Reshape or Resize reading them
// get a shape).
std::unordered_map<const Value*, Shape> infer_shapes_for_inputs(
    const Graph& g, const std::map<std::string, Shape>& input_shapes,
    const std::map<std::string, std::shared_ptr<const Tensor>>& input_values = {});

}  // namespace nnc
