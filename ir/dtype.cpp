#include "ir/dtype.h"

#include <cmath>

namespace nnc {

namespace {
uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
}  // namespace

// float -> IEEE binary16, round to nearest even, with subnormals, inf and nan.
Half::Half(float f) {
  uint32_t x = float_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or nan
    bits = static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
    return;
  }
  if (absx >= 0x477ff000u) { bits = static_cast<uint16_t>(sign | 0x7c00u); return; }  // overflow -> inf
  if (absx < 0x38800000u) {  // subnormal half (or zero)
    float v = bits_float(absx) * 16777216.0f;  // scale by 2^24: value in units of the smallest subnormal
    uint32_t m = static_cast<uint32_t>(std::nearbyint(v));
    bits = static_cast<uint16_t>(sign | m);
    return;
  }
  uint32_t exp = ((absx >> 23) - 112u) << 10;
  uint32_t mant = absx & 0x7fffffu;
  uint32_t h = exp | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  bits = static_cast<uint16_t>(sign | h);
}

Half::operator float() const {
  uint32_t sign = (bits & 0x8000u) << 16;
  uint32_t exp = (bits >> 10) & 0x1fu;
  uint32_t mant = bits & 0x3ffu;
  if (exp == 0) {
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (mant << 13));
  return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

BFloat16::BFloat16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) { bits = static_cast<uint16_t>((x >> 16) | 0x40u); return; }
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  bits = static_cast<uint16_t>((x + rounding) >> 16);
}

BFloat16::operator float() const { return bits_float(static_cast<uint32_t>(bits) << 16); }

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: case DType::Int32: case DType::UInt32: return 4;
    case DType::Float64: case DType::Int64: case DType::UInt64: return 8;
    case DType::Float16: case DType::BFloat16: case DType::Int16: case DType::UInt16: return 2;
    case DType::Int8: case DType::UInt8: case DType::Bool: return 1;
    default: return 0;
  }
}

static const struct { DType t; const char* name; } kNames[] = {
    {DType::Float32, "float32"}, {DType::Float64, "float64"}, {DType::Float16, "float16"},
    {DType::BFloat16, "bfloat16"}, {DType::Int8, "int8"}, {DType::Int16, "int16"},
    {DType::Int32, "int32"}, {DType::Int64, "int64"}, {DType::UInt8, "uint8"},
    {DType::UInt16, "uint16"}, {DType::UInt32, "uint32"}, {DType::UInt64, "uint64"},
    {DType::Bool, "bool"}, {DType::String, "string"},
};

const char* dtype_name(DType t) {
  for (auto& e : kNames) if (e.t == t) return e.name;
  return "undefined";
}

DType dtype_from_name(const std::string& name) {
  for (auto& e : kNames) if (name == e.name) return e.t;
  return DType::Undefined;
}

bool is_float(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}
bool is_integer(DType t) {
  switch (t) {
    case DType::Int8: case DType::Int16: case DType::Int32: case DType::Int64:
    case DType::UInt8: case DType::UInt16: case DType::UInt32: case DType::UInt64: return true;
    default: return false;
  }
}
bool is_valid_dtype(int code) {
  return code >= 1 && code <= 16 && code != 14 && code != 15;  // complex types are not supported
}

}  // namespace nnc
