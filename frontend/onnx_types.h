// ONNX types and values beyond plain tensors: TypeProto <-> nnc's (kind, optional, element
// type, dims), and SequenceProto / OptionalProto files <-> RuntimeValue.
#pragma once
#include <optional>
#include <string>

#include "ir/graph.h"
#include "runtime/runtime_value.h"

namespace onnx { class TypeProto; }

namespace nnc {

struct ProtoType {
  TypeAttr type;             // kind, optional, element type
  std::optional<Dims> dims;  // a tensor's (or a sequence element's) declared dims
};

// Tensors, sequences of tensors and optionals of either; anything else (maps, sparse
// tensors, nested sequences) is a clear error naming `what`.
ProtoType type_from_proto(const onnx::TypeProto& t, const std::string& what);
void type_to_proto(const TypeAttr& type, const std::optional<Dims>& dims, onnx::TypeProto* out);
inline TypeAttr type_of(const Value& v) { return TypeAttr{v.kind, v.optional, v.dtype}; }

// A serialized TensorProto, SequenceProto or OptionalProto, as `declared` expects. uint16
// data for a bfloat16 value is read as bfloat16 (how ONNX 1.12's Python tools store it).
RuntimeValue read_value_pb(const std::string& path, const Value& declared);
void write_value_pb(const RuntimeValue& v, const std::string& path, const std::string& name = "");

}  // namespace nnc
