// Element types. The numbering is ONNX's TensorProto.DataType so import/export is a cast.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace nnc {

enum class DType : int {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
  BFloat16 = 16,
};

// IEEE half and bfloat16 storage types; arithmetic goes through float.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  Half(float f);  // NOLINT: implicit on purpose, kernels assign floats
  operator float() const;
};
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  BFloat16(float f);  // NOLINT
  operator float() const;
};

size_t dtype_size(DType t);           // bytes per element (0 for String/Undefined)
const char* dtype_name(DType t);      // "float32", "int64", ...
DType dtype_from_name(const std::string& name);  // inverse of dtype_name; Undefined if unknown
bool is_float(DType t);               // float16, bfloat16, float32, float64
bool is_integer(DType t);             // signed or unsigned integers (not bool)
bool is_valid_dtype(int code);        // a code nnc can hold

// The storage type of each dtype, and the reverse mapping.
template <DType> struct StorageOf;
template <> struct StorageOf<DType::Float32> { using type = float; };
template <> struct StorageOf<DType::Float64> { using type = double; };
template <> struct StorageOf<DType::Float16> { using type = Half; };
template <> struct StorageOf<DType::BFloat16> { using type = BFloat16; };
template <> struct StorageOf<DType::Int8> { using type = int8_t; };
template <> struct StorageOf<DType::Int16> { using type = int16_t; };
template <> struct StorageOf<DType::Int32> { using type = int32_t; };
template <> struct StorageOf<DType::Int64> { using type = int64_t; };
template <> struct StorageOf<DType::UInt8> { using type = uint8_t; };
template <> struct StorageOf<DType::UInt16> { using type = uint16_t; };
template <> struct StorageOf<DType::UInt32> { using type = uint32_t; };
template <> struct StorageOf<DType::UInt64> { using type = uint64_t; };
template <> struct StorageOf<DType::Bool> { using type = bool; };
template <> struct StorageOf<DType::String> { using type = std::string; };

template <class T> constexpr DType dtype_of();
#define NNC_DTYPE_OF(T, D) template <> constexpr DType dtype_of<T>() { return DType::D; }
NNC_DTYPE_OF(float, Float32) NNC_DTYPE_OF(double, Float64) NNC_DTYPE_OF(Half, Float16)
NNC_DTYPE_OF(BFloat16, BFloat16) NNC_DTYPE_OF(int8_t, Int8) NNC_DTYPE_OF(int16_t, Int16)
NNC_DTYPE_OF(int32_t, Int32) NNC_DTYPE_OF(int64_t, Int64) NNC_DTYPE_OF(uint8_t, UInt8)
NNC_DTYPE_OF(uint16_t, UInt16) NNC_DTYPE_OF(uint32_t, UInt32) NNC_DTYPE_OF(uint64_t, UInt64)
NNC_DTYPE_OF(bool, Bool) NNC_DTYPE_OF(std::string, String)
#undef NNC_DTYPE_OF

// The type arithmetic is done in: float for the 16-bit floats, the storage type otherwise.
template <class T> struct ComputeOf { using type = T; };
template <> struct ComputeOf<Half> { using type = float; };
template <> struct ComputeOf<BFloat16> { using type = float; };
template <class T> using compute_t = typename ComputeOf<T>::type;

template <class T> struct TypeTag { using type = T; };

// Calls f(TypeTag<T>{}) with T the storage type of `t`; throws for Undefined.
template <class F>
decltype(auto) visit_dtype(DType t, F&& f);

}  // namespace nnc

#include "ir/dtype_visit.inl"
