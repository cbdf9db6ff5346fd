// TensorProto <-> Tensor, with every size checked against the declared shape.
#include <onnx/onnx_pb.h>

#include <fstream>
#include <sstream>

#include "frontend/external_data.h"
#include "frontend/onnx.h"
#include "ir/checked.h"
#include "ir/error.h"

namespace nnc {
namespace {

template <class Field, class T>
void copy_field(const Field& f, Tensor& t, const std::string& name) {
  if (static_cast<int64_t>(f.size()) != t.numel())
    throw Error("tensor '" + name + "': holds " + std::to_string(f.size()) + " values but its shape " +
                shape_str(t.shape()) + " needs " + std::to_string(t.numel()));
  T* dst = t.data<T>();
  for (int i = 0; i < f.size(); ++i) dst[i] = static_cast<T>(f.Get(i));
}

// float16/bfloat16 values are stored as their bit patterns in int32_data.
template <class T>
void copy_bits_field(const google::protobuf::RepeatedField<int32_t>& f, Tensor& t, const std::string& name) {
  if (static_cast<int64_t>(f.size()) != t.numel())
    throw Error("tensor '" + name + "': holds " + std::to_string(f.size()) + " values, shape needs " + std::to_string(t.numel()));
  T* dst = t.data<T>();
  for (int i = 0; i < f.size(); ++i) dst[i].bits = static_cast<uint16_t>(f.Get(i));
}

void copy_raw(const char* data, size_t size, Tensor& t, const std::string& name) {
  if (size != t.nbytes())
    throw Error("tensor '" + name + "': raw data has " + std::to_string(size) + " bytes but shape " +
                shape_str(t.shape()) + " of " + dtype_name(t.dtype()) + " needs " + std::to_string(t.nbytes()));
  if (size) std::memcpy(t.raw(), data, size);
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir) {
  const std::string& name = p.name();
  if (!is_valid_dtype(p.data_type()))
    throw Error("tensor '" + name + "': unsupported element type code " + std::to_string(p.data_type()));
  if (p.has_segment()) throw Error("tensor '" + name + "': segmented tensors are not supported");
  Shape shape;
  for (int64_t d : p.dims()) {
    if (d < 0) throw Error("tensor '" + name + "': negative dimension " + std::to_string(d));
    shape.push_back(d);
  }
  auto dt = static_cast<DType>(p.data_type());
  Tensor t(dt, shape);  // checks the element count and the byte budget
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    if (dt == DType::String) throw Error("tensor '" + name + "': string tensors cannot use external data");
    std::vector<char> bytes = read_external_data(p, base_dir);
    copy_raw(bytes.data(), bytes.size(), t, name);
    return t;
  }
  if (p.has_raw_data()) {
    if (dt == DType::String) throw Error("tensor '" + name + "': string tensors cannot use raw_data");
    copy_raw(p.raw_data().data(), p.raw_data().size(), t, name);
    return t;
  }
  switch (dt) {
    case DType::Float32: copy_field<decltype(p.float_data()), float>(p.float_data(), t, name); break;
    case DType::Float64: copy_field<decltype(p.double_data()), double>(p.double_data(), t, name); break;
    case DType::Int64: copy_field<decltype(p.int64_data()), int64_t>(p.int64_data(), t, name); break;
    case DType::Int32: copy_field<decltype(p.int32_data()), int32_t>(p.int32_data(), t, name); break;
    case DType::Int16: copy_field<decltype(p.int32_data()), int16_t>(p.int32_data(), t, name); break;
    case DType::Int8: copy_field<decltype(p.int32_data()), int8_t>(p.int32_data(), t, name); break;
    case DType::UInt16: copy_field<decltype(p.int32_data()), uint16_t>(p.int32_data(), t, name); break;
    case DType::UInt8: copy_field<decltype(p.int32_data()), uint8_t>(p.int32_data(), t, name); break;
    case DType::Bool: copy_field<decltype(p.int32_data()), bool>(p.int32_data(), t, name); break;
    case DType::UInt32: copy_field<decltype(p.uint64_data()), uint32_t>(p.uint64_data(), t, name); break;
    case DType::UInt64: copy_field<decltype(p.uint64_data()), uint64_t>(p.uint64_data(), t, name); break;
    case DType::Float16: copy_bits_field<Half>(p.int32_data(), t, name); break;
    case DType::BFloat16: copy_bits_field<BFloat16>(p.int32_data(), t, name); break;
    case DType::String:
      if (static_cast<int64_t>(p.string_data_size()) != t.numel())
        throw Error("tensor '" + name + "': holds " + std::to_string(p.string_data_size()) + " strings, shape needs " +
                    std::to_string(t.numel()));
      for (int i = 0; i < p.string_data_size(); ++i) t.strings()[i] = p.string_data(i);
      break;
    default: throw Error("tensor '" + name + "': unsupported element type");
  }
  return t;
}

onnx::TensorProto tensor_to_proto(const Tensor& t, const std::string& name) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(static_cast<int>(t.dtype()));
  for (int64_t d : t.shape()) p.add_dims(d);
  if (t.dtype() == DType::String) {
    for (const auto& s : t.strings()) p.add_string_data(s);
  } else {
    p.set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
  }
  return p;
}

Tensor read_tensor_pb(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open tensor file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  onnx::TensorProto p;
  if (!p.ParseFromString(ss.str())) throw Error("'" + path + "' is not a serialized ONNX TensorProto");
  return tensor_from_proto(p);
}

void write_tensor_pb(const Tensor& t, const std::string& path, const std::string& name) {
  onnx::TensorProto p = tensor_to_proto(t, name);
  std::ofstream out(path, std::ios::binary);
  if (!out || !p.SerializeToOstream(&out)) throw Error("cannot write '" + path + "'", ErrorKind::Runtime);
}

}  // namespace nnc
