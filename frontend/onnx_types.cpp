#include "frontend/onnx_types.h"

#include <onnx/onnx-data_pb.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>

#include "frontend/onnx.h"
#include "ir/error.h"

namespace nnc {
namespace {

DType elem_from_code(int code, const std::string& what) {
  if (code != 0 && !is_valid_dtype(code))
    throw Error(what + " has unsupported element type code " + std::to_string(code));
  return static_cast<DType>(code);
}

void tensor_type_from_proto(const onnx::TypeProto::Tensor& tt, ProtoType& out, const std::string& what) {
  out.type.elem = elem_from_code(tt.elem_type(), what);
  if (!tt.has_shape()) return;
  Dims dims;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() < 0)
      throw Error(what + " declares a negative dimension " + std::to_string(d.dim_value()));
    dims.push_back(d.has_dim_value() ? Dim::fixed(d.dim_value()) : Dim::sym(d.dim_param()));
  }
  out.dims = dims;
}

// A tensor or a sequence of tensors.
void container_from_proto(const onnx::TypeProto& t, ProtoType& out, const std::string& what) {
  if (t.has_tensor_type()) return tensor_type_from_proto(t.tensor_type(), out, what);
  if (t.has_sequence_type() && t.sequence_type().elem_type().has_tensor_type()) {
    out.type.kind = TypeKind::Sequence;
    return tensor_type_from_proto(t.sequence_type().elem_type().tensor_type(), out, what);
  }
  if (t.value_case() == onnx::TypeProto::VALUE_NOT_SET) return;  // left to shape inference
  throw Error(what + " has a type nnc does not support (only tensors, sequences of tensors and optionals of those)");
}

RuntimeValue sequence_from_proto(const onnx::SequenceProto& p, DType declared, const std::string& path) {
  if (p.elem_type() != onnx::SequenceProto::TENSOR && !(p.elem_type() == 0 && p.tensor_values_size() == 0))
    throw Error("'" + path + "' holds a sequence of non-tensors, which nnc does not support");
  std::vector<Tensor> items;
  for (const auto& t : p.tensor_values()) items.push_back(tensor_from_proto(t));
  return RuntimeValue::of_sequence(items.empty() ? declared : items.front().dtype(), std::move(items));
}

onnx::SequenceProto sequence_to_proto(const RuntimeValue& v, const std::string& name) {
  onnx::SequenceProto p;
  p.set_name(name);
  p.set_elem_type(onnx::SequenceProto::TENSOR);
  for (const Tensor& t : v.sequence) *p.add_tensor_values() = tensor_to_proto(t);
  return p;
}

}  // namespace

ProtoType type_from_proto(const onnx::TypeProto& t, const std::string& what) {
  ProtoType out;
  if (t.has_optional_type()) {
    out.type.optional = true;
    container_from_proto(t.optional_type().elem_type(), out, what);
  } else {
    container_from_proto(t, out, what);
  }
  return out;
}

void type_to_proto(const TypeAttr& type, const std::optional<Dims>& dims, onnx::TypeProto* out) {
  onnx::TypeProto* inner = type.optional ? out->mutable_optional_type()->mutable_elem_type() : out;
  if (type.kind == TypeKind::Sequence) inner = inner->mutable_sequence_type()->mutable_elem_type();
  auto* tt = inner->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(type.elem));
  if (!dims) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : *dims) {
    auto* dp = shape->add_dim();
    if (d.is_static()) dp->set_dim_value(d.value);
    else if (!d.symbol.empty()) dp->set_dim_param(d.symbol);
  }
}

// ONNX 1.12's numpy-based tools store bfloat16 tensors as uint16 holding the same bits
// (numpy has no bfloat16): such data for a bfloat16 value is read as bfloat16.
Tensor as_bfloat16_if_declared(Tensor t, const Value& declared) {
  if (declared.dtype != DType::BFloat16 || t.dtype() != DType::UInt16) return t;
  Tensor bf(DType::BFloat16, t.shape());
  std::memcpy(bf.raw(), t.raw(), t.nbytes());
  return bf;
}

RuntimeValue read_value_pb(const std::string& path, const Value& declared) {
  if (declared.is_plain_tensor()) return as_bfloat16_if_declared(read_tensor_pb(path), declared);
  std::string bytes = read_binary_file(path);
  if (!declared.optional) {
    onnx::SequenceProto p;
    if (!p.ParseFromString(bytes)) throw Error("'" + path + "' is not a serialized ONNX SequenceProto");
    return sequence_from_proto(p, declared.dtype, path);
  }
  onnx::OptionalProto p;
  if (!p.ParseFromString(bytes)) throw Error("'" + path + "' is not a serialized ONNX OptionalProto");
  RuntimeValue v = RuntimeValue::empty_optional(declared.kind, declared.dtype);
  if (p.has_tensor_value()) v = RuntimeValue(tensor_from_proto(p.tensor_value())).as_optional();
  else if (p.has_sequence_value()) v = sequence_from_proto(p.sequence_value(), declared.dtype, path).as_optional();
  if (v.present && v.kind != declared.kind)
    throw Error("'" + path + "' holds a " + v.type_str() + ", the model declares " + declared.type_str());
  return v;
}

void write_value_pb(const RuntimeValue& v, const std::string& path, const std::string& name) {
  std::string bytes;
  if (v.is_plain_tensor()) {
    bytes = tensor_to_proto(v.tensor, name).SerializeAsString();
  } else if (!v.optional) {
    bytes = sequence_to_proto(v, name).SerializeAsString();
  } else {
    onnx::OptionalProto p;
    p.set_name(name);
    bool seq = v.kind == TypeKind::Sequence;
    p.set_elem_type(seq ? onnx::OptionalProto::SEQUENCE : onnx::OptionalProto::TENSOR);
    if (v.present && seq) *p.mutable_sequence_value() = sequence_to_proto(v, "");
    else if (v.present) *p.mutable_tensor_value() = tensor_to_proto(v.tensor);
    bytes = p.SerializeAsString();
  }
  std::ofstream out(path, std::ios::binary);
  if (!out || !out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())))
    throw Error("cannot write '" + path + "'", ErrorKind::Runtime);
}

}  // namespace nnc
