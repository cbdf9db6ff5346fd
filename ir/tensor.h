// A dense tensor: dtype, static shape and owned bytes (strings are held separately).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace nnc {

using Shape = std::vector<int64_t>;

class Tensor {
 public:
  Tensor() = default;
  // A zero-filled tensor; the size is checked (see ir/checked.h).
  Tensor(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(static_cast<size_t>(i)); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return bytes_.size(); }
  bool empty() const { return dtype_ == DType::Undefined; }

  void* raw() { return bytes_.data(); }
  const void* raw() const { return bytes_.data(); }
  template <class T> T* data() { check_type<T>(); return reinterpret_cast<T*>(bytes_.data()); }
  template <class T> const T* data() const { check_type<T>(); return reinterpret_cast<const T*>(bytes_.data()); }
  std::vector<std::string>& strings() { return strings_; }
  const std::vector<std::string>& strings() const { return strings_; }

  // Same dtype, shape and bytes (or strings).
  bool operator==(const Tensor& o) const;

  // Same data, new shape (numel must match).
  Tensor reshaped(Shape shape) const;

  // Element i as a double / set from a double (any numeric dtype); handy for generic code.
  double at_double(int64_t i) const;
  void set_double(int64_t i, double v);
  // The values of an integer tensor (int32/int64/...) as int64s.
  std::vector<int64_t> to_int64s() const;
  // Converts to another dtype (numeric <-> numeric, numeric <-> string, bool).
  Tensor cast(DType to) const;

  static Tensor scalar_float(float v);
  static Tensor from_int64s(const std::vector<int64_t>& v, Shape shape);
  static Tensor from_floats(const std::vector<float>& v, Shape shape);

 private:
  template <class T> void check_type() const;
  DType dtype_ = DType::Undefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::vector<uint8_t> bytes_;
  std::vector<std::string> strings_;
};

template <class T>
void Tensor::check_type() const {
  if constexpr (std::is_same_v<T, std::string>) {
    static_assert(!std::is_same_v<T, std::string>, "use strings() for string tensors");
  } else if (dtype_of<T>() != dtype_) {
    throw Error(std::string("tensor holds ") + dtype_name(dtype_) + ", accessed as " + dtype_name(dtype_of<T>()),
                ErrorKind::Runtime);
  }
}

std::string shape_str(const Shape& s);  // "[1,3,224,224]"

}  // namespace nnc
