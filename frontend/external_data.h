// External tensor data (bytes kept in side files next to the model). A location must be a
// relative path that stays inside the model's folder once symlinks are resolved; offset
// and length must lie inside the file.
#pragma once
#include <string>
#include <vector>

namespace onnx { class TensorProto; }

namespace nnc {

// Reads the bytes a TensorProto with data_location=EXTERNAL refers to.
std::vector<char> read_external_data(const onnx::TensorProto& p, const std::string& base_dir);

}  // namespace nnc
