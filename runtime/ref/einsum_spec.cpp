// Einsum equations parsed into the label of every dim (shared by the reference kernel and
// the CPU lowering).
#include "runtime/ref/einsum_spec.h"

#include <algorithm>

#include "ir/error.h"

namespace nnc {

namespace {

[[noreturn]] void fail(const std::string& why) { throw Error(why); }
void require(bool cond, const std::string& why) { if (!cond) fail(why); }

constexpr int kEllipsisToken = -1;

// One term of the equation as letter labels, with kEllipsisToken where "..." stands.
std::vector<int> parse_term(const std::string& term) {
  std::vector<int> labels;
  for (size_t i = 0; i < term.size(); ++i) {
    char ch = term[i];
    if (ch >= 'A' && ch <= 'Z') labels.push_back(ch - 'A');
    else if (ch >= 'a' && ch <= 'z') labels.push_back(26 + (ch - 'a'));
    else if (term.compare(i, 3, "...") == 0) {
      require(std::count(labels.begin(), labels.end(), kEllipsisToken) == 0, "term '" + term + "' has two ellipses");
      labels.push_back(kEllipsisToken);
      i += 2;
    } else {
      fail("unexpected character '" + std::string(1, ch) + "' in einsum term '" + term + "'");
    }
  }
  return labels;
}

// Replaces the ellipsis token by the labels of its `count` dims (the last `count` of `width`).
std::vector<int> expand_ellipsis(const std::vector<int>& term, int64_t count, int64_t width) {
  std::vector<int> out;
  for (int l : term) {
    if (l != kEllipsisToken) { out.push_back(l); continue; }
    for (int64_t j = width - count; j < width; ++j) out.push_back(kEllipsis + static_cast<int>(j));
  }
  return out;
}

}  // namespace

EinsumSpec parse_einsum(std::string eq, const std::vector<int64_t>& ranks) {
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::vector<int>> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  require(terms.size() == ranks.size(), "equation '" + eq + "' has " + std::to_string(terms.size()) +
                                                    " terms for " + std::to_string(ranks.size()) + " inputs");
  // How many dims each ellipsis stands for.
  std::vector<int64_t> ell(terms.size(), 0);
  int64_t width = 0;
  for (size_t k = 0; k < terms.size(); ++k) {
    const int64_t rank = ranks[k];
    const bool has_ell = std::count(terms[k].begin(), terms[k].end(), kEllipsisToken) != 0;
    const int64_t letters = static_cast<int64_t>(terms[k].size()) - (has_ell ? 1 : 0);
    require(has_ell ? rank >= letters : rank == letters,
                "input " + std::to_string(k) + " of rank " + std::to_string(rank) + " does not match its einsum term");
    ell[k] = has_ell ? rank - letters : 0;
    width = std::max(width, ell[k]);
  }
  require(width <= kMaxEllipsisDims, "an ellipsis may stand for at most 64 dims");
  EinsumSpec spec;
  std::vector<int> uses(kEllipsis, 0);
  for (size_t k = 0; k < terms.size(); ++k) {
    spec.operands.push_back(expand_ellipsis(terms[k], ell[k], width));
    for (int l : terms[k])
      if (l != kEllipsisToken) ++uses[l];
  }
  if (arrow != std::string::npos) {
    std::vector<int> rhs = parse_term(eq.substr(arrow + 2));
    const bool has_ell = std::count(rhs.begin(), rhs.end(), kEllipsisToken) != 0;
    require(has_ell || width == 0, "the output term needs '...' for the inputs' ellipsis dims");
    for (int l : rhs) {
      if (l == kEllipsisToken) continue;
      require(uses[l] > 0, "output label '" + std::string(1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[l]) +
                                   "' does not appear in the inputs");
      require(std::count(rhs.begin(), rhs.end(), l) == 1, "the output term repeats a label");
    }
    spec.output = expand_ellipsis(rhs, width, width);
  } else {
    // Implicit output: the ellipsis dims, then the labels used exactly once, sorted.
    for (int64_t j = 0; j < width; ++j) spec.output.push_back(kEllipsis + static_cast<int>(j));
    for (int l = 0; l < kEllipsis; ++l)
      if (uses[l] == 1) spec.output.push_back(l);
  }
  return spec;
}

}  // namespace nnc
