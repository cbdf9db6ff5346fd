#include "ir/checked.h"

#include "ir/error.h"

namespace nnc {

int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  if (a < 0 || b < 0) throw Error(what + ": negative size (" + std::to_string(a) + " x " + std::to_string(b) + ")");
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw Error(what + ": size overflows int64");
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const std::string& what) {
  if (a < 0 || b < 0) throw Error(what + ": negative size");
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) throw Error(what + ": size overflows int64");
  return r;
}

int64_t checked_numel(std::span<const int64_t> shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(what + ": negative dimension " + std::to_string(d));
    n = checked_mul(n, d, what);
  }
  return n;
}

int64_t checked_bytes(int64_t numel, int64_t elem_size, const std::string& what) {
  int64_t bytes = checked_mul(numel, elem_size, what);
  if (bytes > kMaxTensorBytes)
    throw Error(what + ": tensor of " + std::to_string(numel) + " elements (" + std::to_string(bytes) +
                " bytes) exceeds the " + std::to_string(kMaxTensorBytes >> 30) + " GiB limit");
  return bytes;
}

}  // namespace nnc
