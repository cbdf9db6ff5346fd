// Einsum equations ("bij,bjk->bik", "...ii->...i", implicit "ij,jk"): each operand's dims
// and the output's dims as labels. Letters are 0..51 in ASCII order ('A'..'Z', 'a'..'z');
// ellipsis dim j (of the widest ellipsis, right-aligned across operands as in numpy) is
// kEllipsis + j. An implicit output is the ellipsis dims, then the labels used once, sorted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nnc {

constexpr int kEllipsis = 52;
constexpr int kMaxEllipsisDims = 64;

struct EinsumSpec {
  std::vector<std::vector<int>> operands;
  std::vector<int> output;
};

// Throws Error when the equation is malformed or does not match the operands' ranks.
EinsumSpec parse_einsum(std::string equation, const std::vector<int64_t>& ranks);

}  // namespace nnc
