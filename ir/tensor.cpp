#include "ir/tensor.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "ir/checked.h"
#include "ir/convert.h"

namespace nnc {

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = checked_numel(shape_, "tensor shape " + shape_str(shape_));
  if (dtype_ == DType::String) {
    checked_bytes(numel_, 32, "string tensor");
    strings_.resize(static_cast<size_t>(numel_));
  } else {
    size_t esize = dtype_size(dtype_);
    if (esize == 0) throw Error(std::string("cannot allocate a tensor of type ") + dtype_name(dtype_));
    bytes_.resize(static_cast<size_t>(checked_bytes(numel_, static_cast<int64_t>(esize), "tensor " + shape_str(shape_))));
  }
}

bool Tensor::operator==(const Tensor& o) const {
  if (dtype_ != o.dtype_ || shape_ != o.shape_) return false;
  if (dtype_ == DType::String) return strings_ == o.strings_;
  return bytes_ == o.bytes_;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  int64_t n = checked_numel(shape, "reshape");
  if (n != numel_) throw Error("cannot reshape " + shape_str(shape_) + " to " + shape_str(shape));
  t.shape_ = std::move(shape);
  return t;
}

double Tensor::at_double(int64_t i) const {
  return visit_dtype(dtype_, [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, std::string>) throw Error("string tensor used as a number");
    else return static_cast<double>(static_cast<compute_t<T>>(data<T>()[i]));
  });
}

void Tensor::set_double(int64_t i, double v) {
  visit_dtype(dtype_, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, std::string>) throw Error("string tensor used as a number");
    else data<T>()[i] = convert_scalar<T>(v);
  });
}

std::vector<int64_t> Tensor::to_int64s() const {
  if (!is_integer(dtype_)) throw Error(std::string("expected an integer tensor, got ") + dtype_name(dtype_));
  std::vector<int64_t> out(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i)
    out[i] = visit_dtype(dtype_, [&](auto tag) -> int64_t {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T>) return static_cast<int64_t>(data<T>()[i]);
      else return 0;
    });
  return out;
}

// Shortest text that reads back to the same value (numpy's str() of the element).
static std::string number_to_string(double v, DType from) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "INF" : "-INF";
  char buf[64];
  std::to_chars_result r = from == DType::Float64 ? std::to_chars(buf, buf + sizeof buf, v)
                           : is_float(from)       ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v))
                                                  : std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
  return std::string(buf, r.ptr);
}

Tensor Tensor::cast(DType to) const {
  Tensor out(to, shape_);
  if (dtype_ == DType::String && to == DType::String) { out.strings_ = strings_; return out; }
  if (dtype_ == DType::String) {
    for (int64_t i = 0; i < numel_; ++i) {
      const std::string& s = strings_[i];
      double v = (s == "INF" || s == "inf" || s == "+INF") ? INFINITY
                 : (s == "-INF" || s == "-inf") ? -INFINITY
                 : (s == "NaN" || s == "nan") ? NAN : std::strtod(s.c_str(), nullptr);
      out.set_double(i, v);
    }
    return out;
  }
  if (to == DType::String) {
    for (int64_t i = 0; i < numel_; ++i) out.strings_[i] = number_to_string(at_double(i), dtype_);
    return out;
  }
  visit_dtype(dtype_, [&](auto from_tag) {
    using F = typename decltype(from_tag)::type;
    if constexpr (!std::is_same_v<F, std::string>) {
      visit_dtype(to, [&](auto to_tag) {
        using T = typename decltype(to_tag)::type;
        if constexpr (!std::is_same_v<T, std::string>) {
          const F* src = data<F>();
          T* dst = out.data<T>();
          for (int64_t i = 0; i < numel_; ++i) dst[i] = convert_scalar<T>(src[i]);
        }
      });
    }
  });
  return out;
}

Tensor Tensor::scalar_float(float v) {
  Tensor t(DType::Float32, {});
  t.data<float>()[0] = v;
  return t;
}

Tensor Tensor::from_int64s(const std::vector<int64_t>& v, Shape shape) {
  Tensor t(DType::Int64, std::move(shape));
  check(static_cast<int64_t>(v.size()) == t.numel(), "from_int64s: size mismatch");
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

Tensor Tensor::from_floats(const std::vector<float>& v, Shape shape) {
  Tensor t(DType::Float32, std::move(shape));
  check(static_cast<int64_t>(v.size()) == t.numel(), "from_floats: size mismatch");
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

}  // namespace nnc
