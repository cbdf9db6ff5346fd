// Checked size arithmetic. Every shape product and byte count goes through these
// helpers so that a hostile model cannot overflow an int64 or make us allocate
// gigabytes (DESIGN.md principle 8).
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace nnc {

// The largest tensor any kernel may allocate (4 GiB). Bigger requests are model errors.
inline constexpr int64_t kMaxTensorBytes = int64_t{1} << 32;

// a * b, throwing nnc::Error on negative operands or overflow; `what` names the quantity.
int64_t checked_mul(int64_t a, int64_t b, const std::string& what);
// a + b with the same checks.
int64_t checked_add(int64_t a, int64_t b, const std::string& what);
// The element count of a static shape; every dim must be >= 0.
int64_t checked_numel(std::span<const int64_t> shape, const std::string& what);
// numel * elem_size, also checked against kMaxTensorBytes.
int64_t checked_bytes(int64_t numel, int64_t elem_size, const std::string& what);

}  // namespace nnc
