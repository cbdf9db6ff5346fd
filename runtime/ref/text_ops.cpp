// Reference kernels of the ONNX text ops:
//  - StringNormalizer: drops stop words from a [C] or [1, C] string tensor, then lower- or
//    upper-cases what is left. Case mapping is ASCII-only (bytes 'A'-'Z' / 'a'-'z'); other
//    bytes, including every byte of a multi-byte UTF-8 character, pass through unchanged, and
//    the `locale` attribute is therefore ignored.
//  - TfIdfVectorizer: counts the pool's n-grams (optionally with skips) in each row of a
//    [C] or [N, C] tensor of int32 / int64 / strings, then weights the counts by `mode`.
//    Its semantics follow onnxruntime and the ONNX reference implementation exactly:
//    unigrams are counted once (they do not depend on the skip), longer n-grams once per
//    skip distance, and `weights[i]` scales output coordinate i.
#include "runtime/ref/kernels.h"

#include <algorithm>
#include <map>
#include <set>
#include <variant>

namespace nnc {

namespace {

// A list-of-strings attribute; empty when absent.
std::vector<std::string> string_list_attr(const KernelContext& ctx, const std::string& name) {
  auto it = ctx.attrs().all().find(name);
  if (it == ctx.attrs().all().end()) return {};
  const auto* v = std::get_if<std::vector<std::string>>(&it->second);
  ctx.require(v != nullptr, "attribute '" + name + "' must be a list of strings");
  return *v;
}

int64_t required_int_attr(const KernelContext& ctx, const std::string& name) {
  ctx.require(ctx.attrs().has(name), "the required attribute '" + name + "' is missing");
  return ctx.attrs().get_int(name, 0);
}

// ---- StringNormalizer ----

std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string ascii_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

enum class CaseChange { None, Lower, Upper };

CaseChange read_case_change(const KernelContext& ctx) {
  const std::string action = ctx.attrs().get_string("case_change_action", "NONE");
  if (action == "NONE") return CaseChange::None;
  if (action == "LOWER") return CaseChange::Lower;
  if (action == "UPPER") return CaseChange::Upper;
  ctx.fail("case_change_action must be NONE, LOWER or UPPER, got '" + action + "'");
}

std::string change_case(std::string s, CaseChange action) {
  switch (action) {
    case CaseChange::Lower: return ascii_lower(std::move(s));
    case CaseChange::Upper: return ascii_upper(std::move(s));
    case CaseChange::None: break;
  }
  return s;
}

}  // namespace

Tensors ref_StringNormalizer(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(x.dtype() == DType::String, "the input must be a string tensor, got " + std::string(dtype_name(x.dtype())));
  ctx.require(x.rank() == 1 || (x.rank() == 2 && x.dim(0) == 1),
              "the input must have shape [C] or [1, C], got " + shape_str(x.shape()));
  const bool case_sensitive = ctx.attrs().get_int("is_case_sensitive", 0) != 0;
  const CaseChange action = read_case_change(ctx);

  // Case-insensitive matching compares the (ASCII) lower-cased forms.
  auto match_key = [&](const std::string& s) { return case_sensitive ? s : ascii_lower(s); };
  std::set<std::string> stopwords;
  for (const std::string& w : string_list_attr(ctx, "stopwords")) stopwords.insert(match_key(w));

  std::vector<std::string> kept;
  for (const std::string& s : x.strings())
    if (!stopwords.count(match_key(s))) kept.push_back(change_case(s, action));
  // When every element is dropped the spec asks for a single empty string: [1] or [1, 1].
  if (kept.empty()) kept.emplace_back();

  const int64_t c = static_cast<int64_t>(kept.size());
  Tensor y(DType::String, x.rank() == 1 ? Shape{c} : Shape{1, c});
  y.strings() = std::move(kept);
  return {std::move(y)};
}

namespace {

// ---- TfIdfVectorizer ----

enum class TfIdfMode { TF, IDF, TFIDF };

// A token: an integer, or (for string inputs) the index of the string in pool_strings, with
// -1 for a string absent from the pool, which then can never be part of a pool n-gram.
using Token = int64_t;
using Ngram = std::vector<Token>;

struct NgramPool {
  TfIdfMode mode = TfIdfMode::TF;
  int64_t min_n = 1, max_n = 1, max_skip = 0;
  bool string_pool = false;
  std::map<std::string, Token> string_ids;  // pool string -> token, for string inputs
  std::map<Ngram, int64_t> output_index;    // pool n-gram within [min_n, max_n] -> output coordinate
  int64_t output_size = 0;                  // max(ngram_indexes) + 1
  std::vector<float> weights;               // empty, or indexed by output coordinate
};

TfIdfMode read_mode(const KernelContext& ctx) {
  ctx.require(ctx.attrs().has("mode"), "the required attribute 'mode' is missing");
  const std::string mode = ctx.attrs().get_string("mode", "");
  if (mode == "TF") return TfIdfMode::TF;
  if (mode == "IDF") return TfIdfMode::IDF;
  if (mode == "TFIDF") return TfIdfMode::TFIDF;
  ctx.fail("mode must be TF, IDF or TFIDF, got '" + mode + "'");
}

// The pool as one token list: pool_int64s as is, pool_strings numbered 0, 1, ... (the
// numbering is recorded in pool.string_ids; equal strings share a number).
std::vector<Token> read_pool_tokens(const KernelContext& ctx, NgramPool& pool) {
  const std::vector<std::string> strings = string_list_attr(ctx, "pool_strings");
  const std::vector<int64_t> ints = ctx.attrs().get_ints("pool_int64s");
  ctx.require(strings.empty() || ints.empty(), "only one of pool_strings and pool_int64s may be set");
  ctx.require(!strings.empty() || !ints.empty(), "one of pool_strings and pool_int64s must be set and non-empty");
  if (strings.empty()) return ints;
  pool.string_pool = true;
  std::vector<Token> tokens;
  for (const std::string& s : strings)
    tokens.push_back(pool.string_ids.emplace(s, static_cast<Token>(pool.string_ids.size())).first->second);
  return tokens;
}

// Reads and checks the attributes. ngram_counts[k] is where the (k+1)-grams start in the
// pool; the n-grams, in pool order, are numbered 0, 1, ... and n-gram j lands in output
// coordinate ngram_indexes[j]. Only the sizes in [min_gram_length, max_gram_length] are kept.
NgramPool read_pool(const KernelContext& ctx) {
  NgramPool pool;
  pool.mode = read_mode(ctx);
  pool.min_n = required_int_attr(ctx, "min_gram_length");
  pool.max_n = required_int_attr(ctx, "max_gram_length");
  pool.max_skip = required_int_attr(ctx, "max_skip_count");
  ctx.require(pool.min_n >= 1, "min_gram_length must be positive");
  ctx.require(pool.max_n >= pool.min_n, "max_gram_length must be >= min_gram_length");
  ctx.require(pool.max_skip >= 0, "max_skip_count must be non-negative");

  const std::vector<int64_t> starts = ctx.attrs().get_ints("ngram_counts");
  const std::vector<int64_t> indexes = ctx.attrs().get_ints("ngram_indexes");
  ctx.require(!starts.empty(), "ngram_counts must be set and non-empty");
  ctx.require(!indexes.empty(), "ngram_indexes must be set and non-empty");
  // No pool n-gram is longer than ngram_counts has entries, so longer ones need no search.
  pool.max_n = std::min(pool.max_n, static_cast<int64_t>(starts.size()));
  for (int64_t i : indexes) ctx.require(i >= 0, "ngram_indexes must be non-negative");
  pool.output_size = checked_add(*std::max_element(indexes.begin(), indexes.end()), 1, "TfIdfVectorizer output size");
  // Like onnxruntime and the ONNX reference, weights[i] scales output coordinate i.
  pool.weights = ctx.attrs().get_floats("weights");

  const std::vector<Token> tokens = read_pool_tokens(ctx, pool);
  const int64_t total = static_cast<int64_t>(tokens.size());
  size_t ngram_id = 0;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t n = static_cast<int64_t>(k) + 1;
    const int64_t begin = starts[k], end = k + 1 < starts.size() ? starts[k + 1] : total;
    ctx.require(0 <= begin && begin <= end && end <= total,
                "ngram_counts does not delimit the pool for the " + std::to_string(n) + "-grams");
    ctx.require((end - begin) % n == 0, "the pool's " + std::to_string(n) + "-grams are not whole");
    for (int64_t at = begin; at < end; at += n, ++ngram_id) {
      if (n < pool.min_n || n > pool.max_n) continue;
      ctx.require(ngram_id < indexes.size(), "ngram_indexes has fewer entries than the pool has n-grams");
      ctx.require(pool.weights.empty() || indexes[ngram_id] < static_cast<int64_t>(pool.weights.size()),
                  "weights has no entry for output coordinate " + std::to_string(indexes[ngram_id]));
      Ngram gram(tokens.begin() + at, tokens.begin() + at + n);
      ctx.require(pool.output_index.emplace(std::move(gram), indexes[ngram_id]).second,
                  "the pool holds a " + std::to_string(n) + "-gram twice");
    }
  }

  return pool;
}

// The input's elements as tokens (see Token).
std::vector<Token> input_tokens(const KernelContext& ctx, const Tensor& x, const NgramPool& pool) {
  std::vector<Token> tokens(static_cast<size_t>(x.numel()));
  if (x.dtype() == DType::String) {
    ctx.require(pool.string_pool, "a string input needs pool_strings");
    for (size_t i = 0; i < tokens.size(); ++i) {
      auto it = pool.string_ids.find(x.strings()[i]);
      tokens[i] = it == pool.string_ids.end() ? -1 : it->second;
    }
  } else {
    ctx.require(x.dtype() == DType::Int32 || x.dtype() == DType::Int64,
                "the input must be int32, int64 or string, got " + std::string(dtype_name(x.dtype())));
    ctx.require(!pool.string_pool, "an integer input needs pool_int64s");
    tokens = x.to_int64s();
  }
  return tokens;
}

// Adds one row's n-gram counts into `counts` (one entry per output coordinate). An n-gram
// of size n with skip s takes the tokens at start, start + (s+1), ..., start + (n-1)(s+1).
void count_row(const Token* row, int64_t c, const NgramPool& pool, int64_t* counts) {
  // A skip distance of c or more cannot fit a second token, so larger skips add nothing.
  const int64_t max_skip = std::min(pool.max_skip, std::max<int64_t>(c - 1, 0));
  Ngram gram;
  for (int64_t skip = 0; skip <= max_skip; ++skip) {
    const int64_t step = skip + 1;
    for (int64_t start = 0; start < c; ++start) {
      gram.clear();
      for (int64_t n = 1, at = start; n <= pool.max_n && at < c; ++n, at += step) {
        gram.push_back(row[at]);
        if (n < pool.min_n || (n == 1 && skip > 0)) continue;  // unigrams: counted at skip 0 only
        auto hit = pool.output_index.find(gram);
        if (hit != pool.output_index.end()) ++counts[hit->second];
      }
    }
  }
}

// TF: the counts; IDF: 1 where the count is positive; both scaled by weights when given.
float weighted(const NgramPool& pool, int64_t count, int64_t coordinate) {
  double value = pool.mode == TfIdfMode::IDF ? (count > 0 ? 1.0 : 0.0) : static_cast<double>(count);
  // The spec applies weights in IDF and TFIDF mode only; TF ignores them.
  if (pool.mode != TfIdfMode::TF && !pool.weights.empty()) value *= pool.weights[static_cast<size_t>(coordinate)];
  return static_cast<float>(value);
}

}  // namespace

Tensors ref_TfIdfVectorizer(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(x.rank() <= 2, "the input must have shape [C] or [N, C], got " + shape_str(x.shape()));
  const NgramPool pool = read_pool(ctx);
  const std::vector<Token> tokens = input_tokens(ctx, x, pool);

  // A scalar is read as one token, like onnxruntime does.
  const int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
  const int64_t c = x.rank() == 0 ? 1 : x.dim(x.rank() - 1);
  Tensor y(DType::Float32, x.rank() == 2 ? Shape{rows, pool.output_size} : Shape{pool.output_size});
  std::vector<int64_t> counts;  // one row's counts, per output coordinate
  for (int64_t r = 0; r < rows; ++r) {
    counts.assign(static_cast<size_t>(pool.output_size), 0);
    count_row(tokens.data() + r * c, c, pool, counts.data());
    float* out = y.data<float>() + r * pool.output_size;
    for (int64_t i = 0; i < pool.output_size; ++i) out[i] = weighted(pool, counts[i], i);
  }
  return {std::move(y)};
}

}  // namespace nnc
