// Structural checks nnc runs on a parsed model before ONNX's checker, so that the
// commonest defects get a message naming the defect itself: a cycle, an input nobody
// produces, negative or overflowing dimensions, unknown element types, an opset newer
// than ONNX 1.12 knows. Also puts an acyclic but unsorted graph into topological order.
#pragma once

namespace onnx { class ModelProto; }

namespace nnc {

void precheck_model(onnx::ModelProto& model);

}  // namespace nnc
