// Reading and writing tensors for the CLI: ONNX TensorProto (.pb) and NumPy (.npy) files,
// seeded random inputs, and a one-line summary of a tensor.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace nnc {

Tensor read_npy(const std::string& path);
void write_npy(const Tensor& t, const std::string& path);
// .pb or .npy, chosen by extension.
Tensor read_tensor_file(const std::string& path);
// Random data for a graph input: floats uniform in [-1, 1), integers in [0, 10), bools
// fair coins; symbolic dims take their size from dim_values (default 1).
Tensor random_input(const Value& v, uint64_t seed, const std::map<std::string, int64_t>& dim_values);
// NAME=SIZE strings (the CLI's --dim) as a map; a clear error on bad syntax.
std::map<std::string, int64_t> parse_dim_values(const std::vector<std::string>& specs);
// "float32[1,1000] min -3.1 max 4.2 mean 0.01 first [0.1, ...]"
std::string summarize(const Tensor& t, int first_values = 8);

}  // namespace nnc
