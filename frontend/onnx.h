// ONNX import and export through ONNX's own C++ library.
//
// Import: parse -> resolve external data safely -> onnx::checker -> convert the default
// domain to one canonical opset with onnx::version_conversion where the converter
// supports the model -> onnx::shape_inference -> the IR, with attribute defaults filled
// from the op schemas. Every problem is an nnc::Error (InvalidModel) with one clear line.
#pragma once
#include <memory>
#include <string>

#include "ir/graph.h"

namespace onnx { class ModelProto; class TensorProto; }

namespace nnc {

inline constexpr int kCanonicalOpset = 17;

struct ImportOptions {
  bool convert_opset = true;  // convert older opsets to kCanonicalOpset where ONNX can
};

std::unique_ptr<Graph> import_onnx_file(const std::string& path, const ImportOptions& opts = {});
// base_dir is where external data files are looked up ("" = none allowed).
std::unique_ptr<Graph> import_onnx_model(onnx::ModelProto model, const std::string& base_dir,
                                         const ImportOptions& opts = {});

onnx::ModelProto export_onnx_model(const Graph& g);
// Writes the model; refuses to replace an existing file unless overwrite is set.
void export_onnx_file(const Graph& g, const std::string& path, bool overwrite = false);

// TensorProto <-> Tensor. `base_dir` resolves external data ("" refuses it).
Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir = "");
onnx::TensorProto tensor_to_proto(const Tensor& t, const std::string& name = "");
Tensor read_tensor_pb(const std::string& path);
std::string read_binary_file(const std::string& path);  // a clear error when it cannot be read   // a serialized TensorProto file
void write_tensor_pb(const Tensor& t, const std::string& path, const std::string& name = "");

}  // namespace nnc
