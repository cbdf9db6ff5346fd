// Reference kernels for indexing ops, following ONNX semantics up to opset 17.
// Gathers, scatters (reduction "none"), OneHot, NonZero and Compress work for every dtype,
// strings included; ArgMax/ArgMin, CumSum, TopK and scatter reductions need numbers.
// Negative indices wrap once; an index still out of range is an error, never a stray read.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "runtime/ref/kernel.h"

namespace nnc {
namespace {

// Copies runs of elements between two tensors of the same dtype, whatever that dtype is.
class ElementCopier {
 public:
  ElementCopier(const Tensor& src, Tensor& dst)
      : src_(src), dst_(dst), esize_(dtype_size(src.dtype())), strings_(src.dtype() == DType::String) {}
  void operator()(int64_t dst_i, int64_t src_i, int64_t count = 1) const {
    if (count <= 0) return;
    if (strings_) {
      std::copy_n(src_.strings().begin() + src_i, count, dst_.strings().begin() + dst_i);
    } else {
      std::memcpy(static_cast<uint8_t*>(dst_.raw()) + dst_i * esize_,
                  static_cast<const uint8_t*>(src_.raw()) + src_i * esize_, static_cast<size_t>(count) * esize_);
    }
  }

 private:
  const Tensor& src_;
  Tensor& dst_;
  int64_t esize_;
  bool strings_;
};

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p = checked_mul(p, s[i], "shape " + shape_str(s));
  return p;
}

// The values of integer input i (indices, axis, k, ...).
std::vector<int64_t> int_input(const KernelContext& ctx, size_t i, const std::string& what) {
  const Tensor& t = ctx.in(i);
  ctx.require(is_integer(t.dtype()), what + " must be an integer tensor, got " + dtype_name(t.dtype()));
  return t.to_int64s();
}

// A scalar (or one-element) integer input.
int64_t int_scalar_input(const KernelContext& ctx, size_t i, const std::string& what) {
  std::vector<int64_t> v = int_input(ctx, i, what);
  ctx.require(v.size() == 1, what + " must hold exactly one value");
  return v[0];
}

// An index into an axis of size `dim`; negative values count from the end.
int64_t wrap_index(const KernelContext& ctx, int64_t i, int64_t dim) {
  ctx.require(i >= -dim && i < dim, "index " + std::to_string(i) + " is out of range for an axis of size " +
                                        std::to_string(dim));
  return i < 0 ? i + dim : i;
}

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<compute_t<T>>) return std::isnan(static_cast<compute_t<T>>(v));
  else return false;
}

// a + b and a * b in T; integers wrap around (through uint64) instead of overflowing.
template <class T>
T add_values(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) return a || b;
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else return static_cast<T>(static_cast<compute_t<T>>(a) + static_cast<compute_t<T>>(b));
}
template <class T>
T mul_values(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) return a && b;
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else return static_cast<T>(static_cast<compute_t<T>>(a) * static_cast<compute_t<T>>(b));
}

// Applies scatter updates out[dst] (op)= updates[src] in order, for each (dst, src) pair.
void apply_scatter(const KernelContext& ctx, Tensor& out, const Tensor& updates,
                   const std::vector<std::pair<int64_t, int64_t>>& pairs) {
  ctx.require(updates.dtype() == out.dtype(), "updates type differs from the data type");
  std::string reduction = ctx.attrs().get_string("reduction", "none");
  if (reduction == "none") {
    ElementCopier copy(updates, out);
    for (auto [dst, src] : pairs) copy(dst, src);
    return;
  }
  ctx.require(reduction == "add" || reduction == "mul" || reduction == "max" || reduction == "min",
              "unknown reduction '" + reduction + "'");
  visit_numeric(ctx, out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    T* o = out.data<T>();
    const T* u = updates.data<T>();
    for (auto [dst, src] : pairs) {
      if (reduction == "add") o[dst] = add_values(o[dst], u[src]);
      else if (reduction == "mul") o[dst] = mul_values(o[dst], u[src]);
      else if (reduction == "max") o[dst] = static_cast<C>(u[src]) > static_cast<C>(o[dst]) ? u[src] : o[dst];
      else o[dst] = static_cast<C>(u[src]) < static_cast<C>(o[dst]) ? u[src] : o[dst];
    }
  });
}

// For GatherElements/ScatterElements: the flat data offset addressed by each element of
// `indices` (same rank as data; its dims off the axis may not exceed data's).
std::vector<int64_t> element_offsets(const KernelContext& ctx, const Shape& data, const Tensor& indices, int64_t axis) {
  ctx.require(indices.rank() == static_cast<int>(data.size()), "indices rank " + std::to_string(indices.rank()) +
                                                                   " differs from data rank " + std::to_string(data.size()));
  for (size_t d = 0; d < data.size(); ++d)
    ctx.require(static_cast<int64_t>(d) == axis || indices.shape()[d] <= data[d],
                "indices shape " + shape_str(indices.shape()) + " exceeds data shape " + shape_str(data));
  ctx.require(is_integer(indices.dtype()), "indices must be an integer tensor");
  std::vector<int64_t> idx = indices.to_int64s();
  Shape data_strides = strides_of(data), ind_strides = strides_of(indices.shape());
  std::vector<int64_t> offsets(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    int64_t off = 0, rest = static_cast<int64_t>(i);
    for (size_t d = 0; d < data.size(); ++d) {
      int64_t coord = rest / ind_strides[d];
      rest %= ind_strides[d];
      if (static_cast<int64_t>(d) == axis) coord = wrap_index(ctx, idx[i], data[d]);
      off += coord * data_strides[d];
    }
    offsets[i] = off;
  }
  return offsets;
}

// For GatherND/ScatterND: `idx` holds tuples of m indices into the leading dims of `data`;
// returns the flat offset of the slice each tuple addresses.
std::vector<int64_t> nd_offsets(const KernelContext& ctx, const Shape& data, const std::vector<int64_t>& idx, int64_t m) {
  Shape strides = strides_of(data);
  std::vector<int64_t> offsets;
  for (size_t t = 0; m > 0 && t < idx.size(); t += m) {
    int64_t off = 0;
    for (int64_t j = 0; j < m; ++j) off += wrap_index(ctx, idx[t + j], data[j]) * strides[j];
    offsets.push_back(off);
  }
  return offsets;
}

}  // namespace

Tensors ref_Gather(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  std::vector<int64_t> idx = int_input(ctx, 1, "indices");
  int64_t dim = x.dim(static_cast<int>(axis));
  for (int64_t& i : idx) i = wrap_index(ctx, i, dim);
  Shape out_shape(x.shape().begin(), x.shape().begin() + axis);
  out_shape.insert(out_shape.end(), ind.shape().begin(), ind.shape().end());
  out_shape.insert(out_shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  Tensor out(x.dtype(), out_shape);
  int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis + 1, x.shape().size());
  auto n = static_cast<int64_t>(idx.size());
  ElementCopier copy(x, out);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < n; ++k) copy((o * n + k) * inner, (o * dim + idx[k]) * inner, inner);
  return {out};
}

Tensors ref_GatherElements(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  std::vector<int64_t> offsets = element_offsets(ctx, x.shape(), ctx.in(1), axis);
  Tensor out(x.dtype(), ctx.in(1).shape());
  ElementCopier copy(x, out);
  for (size_t i = 0; i < offsets.size(); ++i) copy(static_cast<int64_t>(i), offsets[i]);
  return {out};
}

Tensors ref_GatherND(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  int64_t b = ctx.attrs().get_int("batch_dims", 0);
  int64_t r = x.rank(), q = ind.rank();
  ctx.require(r >= 1 && q >= 1, "data and indices must have rank >= 1");
  ctx.require(b >= 0 && b < std::min(r, q), "batch_dims must be in [0, min(rank(data), rank(indices)))");
  int64_t m = ind.shape().back();
  ctx.require(m >= 1 && m <= r - b, "indices' last dimension " + std::to_string(m) + " must be in [1, " +
                                        std::to_string(r - b) + "]");
  for (int64_t d = 0; d < b; ++d)
    ctx.require(x.dim(static_cast<int>(d)) == ind.dim(static_cast<int>(d)), "batch dimensions of data and indices differ");
  Shape out_shape(ind.shape().begin(), ind.shape().end() - 1);
  out_shape.insert(out_shape.end(), x.shape().begin() + b + m, x.shape().end());
  Tensor out(x.dtype(), out_shape);

  // Per batch: data is [rest of data], indices are [groups, m]; each tuple picks a slice.
  Shape batch_data(x.shape().begin() + b, x.shape().end());
  int64_t batches = product(x.shape(), 0, b);
  int64_t data_per_batch = product(x.shape(), b, r);
  int64_t slice = product(x.shape(), b + m, r);
  std::vector<int64_t> offsets = nd_offsets(ctx, batch_data, int_input(ctx, 1, "indices"), m);
  auto groups = static_cast<int64_t>(offsets.size()) / std::max<int64_t>(batches, 1);
  ElementCopier copy(x, out);
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t g = 0; g < groups; ++g)
      copy((bi * groups + g) * slice, bi * data_per_batch + offsets[bi * groups + g], slice);
  return {out};
}

Tensors ref_ScatterElements(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& updates = ctx.in(2);
  ctx.require(updates.shape() == ctx.in(1).shape(), "updates shape " + shape_str(updates.shape()) +
                                                         " differs from indices shape " + shape_str(ctx.in(1).shape()));
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  std::vector<int64_t> offsets = element_offsets(ctx, x.shape(), ctx.in(1), axis);
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (size_t i = 0; i < offsets.size(); ++i) pairs.emplace_back(offsets[i], static_cast<int64_t>(i));
  Tensor out = x;
  apply_scatter(ctx, out, updates, pairs);
  return {out};
}

Tensors ref_ScatterND(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  const Tensor& updates = ctx.in(2);
  ctx.require(ind.rank() >= 1, "indices must have rank >= 1");
  int64_t k = ind.shape().back();
  ctx.require(k >= 0 && k <= x.rank(), "indices' last dimension " + std::to_string(k) + " exceeds the data rank");
  Shape expected(ind.shape().begin(), ind.shape().end() - 1);
  expected.insert(expected.end(), x.shape().begin() + k, x.shape().end());
  ctx.require(updates.shape() == expected,
              "updates shape " + shape_str(updates.shape()) + " should be " + shape_str(expected));
  int64_t slice = product(x.shape(), k, x.shape().size());
  std::vector<int64_t> offsets;
  if (k == 0) offsets.assign(product(ind.shape(), 0, ind.shape().size() - 1), 0);  // each tuple addresses all data
  else offsets = nd_offsets(ctx, x.shape(), int_input(ctx, 1, "indices"), k);
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (size_t t = 0; t < offsets.size(); ++t)
    for (int64_t j = 0; j < slice; ++j) pairs.emplace_back(offsets[t] + j, static_cast<int64_t>(t) * slice + j);
  Tensor out = x;
  apply_scatter(ctx, out, updates, pairs);
  return {out};
}

Tensors ref_OneHot(const KernelContext& ctx) {
  const Tensor& ind = ctx.in(0);
  const Tensor& depth_t = ctx.in(1);
  const Tensor& values = ctx.in(2);
  ctx.require(ind.dtype() != DType::String && depth_t.dtype() != DType::String, "indices and depth must be numeric");
  ctx.require(depth_t.numel() == 1, "depth must hold exactly one value");
  ctx.require(values.numel() == 2, "values must hold [off_value, on_value]");
  double depth_d = depth_t.at_double(0);
  ctx.require(std::isfinite(depth_d) && depth_d >= 1 && depth_d < 9.0e15, "depth must be a positive number");
  auto depth = static_cast<int64_t>(depth_d);
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", -1), ind.rank() + 1);
  Shape out_shape = ind.shape();
  out_shape.insert(out_shape.begin() + axis, depth);
  Tensor out(values.dtype(), out_shape);
  ElementCopier copy(values, out);
  for (int64_t i = 0; i < out.numel(); ++i) copy(i, 0);  // off_value everywhere
  int64_t inner = product(ind.shape(), axis, ind.shape().size());
  for (int64_t i = 0; i < ind.numel(); ++i) {
    double v = std::trunc(ind.at_double(i));
    if (!(v >= -static_cast<double>(depth) && v < static_cast<double>(depth))) continue;  // out of range (or NaN): all off
    auto hot = static_cast<int64_t>(v < 0 ? v + static_cast<double>(depth) : v);
    int64_t o = i / inner, in = i % inner;
    copy((o * depth + hot) * inner + in, 1);
  }
  return {out};
}

Tensors ref_NonZero(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> hits;
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t i = 0; i < x.numel(); ++i) {
      bool nonzero;
      if constexpr (std::is_same_v<T, std::string>) nonzero = !x.strings()[i].empty();
      else nonzero = static_cast<compute_t<T>>(x.data<T>()[i]) != compute_t<T>(0);
      if (nonzero) hits.push_back(i);
    }
  });
  // A scalar counts as a one-element vector (numpy's and ONNX Runtime's behaviour).
  Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
  Shape strides = strides_of(shape);
  auto n = static_cast<int64_t>(hits.size());
  Tensor out(DType::Int64, {static_cast<int64_t>(shape.size()), n});
  int64_t* o = out.data<int64_t>();
  for (int64_t j = 0; j < n; ++j)
    for (size_t d = 0; d < shape.size(); ++d) o[d * n + j] = hits[j] / strides[d] % shape[d];
  return {out};
}

namespace {
// ArgMax (want_max) or ArgMin along one axis; NaN counts as the extreme value, like numpy.
Tensors arg_extreme(const KernelContext& ctx, bool want_max) {
  const Tensor& x = ctx.in(0);
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  bool last = ctx.attrs().get_int("select_last_index", 0) != 0;
  int64_t n = x.dim(static_cast<int>(axis));
  ctx.require(n > 0, "cannot take the arg extreme of an empty axis");
  Shape out_shape = x.shape();
  if (keepdims) out_shape[axis] = 1;
  else out_shape.erase(out_shape.begin() + axis);
  Tensor out(DType::Int64, out_shape);
  int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis + 1, x.shape().size());
  visit_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* p = x.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        auto at = [&](int64_t j) { return static_cast<C>(p[(o * n + j) * inner + in]); };
        int64_t best = 0;
        for (int64_t j = 1; j < n; ++j) {
          C v = at(j), b = at(best);
          bool better = is_nan(v) ? !is_nan(b) : !is_nan(b) && (want_max ? v > b : v < b);
          bool tie = is_nan(v) ? is_nan(b) : v == b;
          if (better || (last && tie)) best = j;
        }
        out.data<int64_t>()[o * inner + in] = best;
      }
  });
  return {out};
}
}  // namespace

Tensors ref_ArgMax(const KernelContext& ctx) { return arg_extreme(ctx, true); }
Tensors ref_ArgMin(const KernelContext& ctx) { return arg_extreme(ctx, false); }

Tensors ref_CumSum(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t axis = normalize_axis(ctx, int_scalar_input(ctx, 1, "axis"), x.rank());
  bool exclusive = ctx.attrs().get_int("exclusive", 0) != 0;
  bool reverse = ctx.attrs().get_int("reverse", 0) != 0;
  int64_t n = x.dim(static_cast<int>(axis));
  int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis + 1, x.shape().size());
  Tensor out(x.dtype(), x.shape());
  visit_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = x.data<T>();
    T* q = out.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        T sum = T(0);
        for (int64_t s = 0; s < n; ++s) {
          int64_t j = reverse ? n - 1 - s : s;
          int64_t at = (o * n + j) * inner + in;
          if (exclusive) q[at] = sum;
          sum = add_values(sum, p[at]);
          if (!exclusive) q[at] = sum;
        }
      }
  });
  return {out};
}

Tensors ref_Compress(const KernelContext& ctx) {
  const Tensor& input = ctx.in(0);
  const Tensor& cond = ctx.in(1);
  ctx.require(cond.dtype() == DType::Bool && cond.rank() == 1, "condition must be a 1-D bool tensor");
  bool has_axis = ctx.attrs().has("axis");
  Tensor x = has_axis ? input : input.reshaped({input.numel()});
  int64_t axis = has_axis ? normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank()) : 0;
  int64_t n = x.dim(static_cast<int>(axis));
  std::vector<int64_t> picked;
  for (int64_t j = 0; j < cond.numel(); ++j) {
    if (!cond.data<bool>()[j]) continue;
    ctx.require(j < n, "condition selects index " + std::to_string(j) + " of an axis of size " + std::to_string(n));
    picked.push_back(j);
  }
  Shape out_shape = x.shape();
  out_shape[axis] = static_cast<int64_t>(picked.size());
  Tensor out(x.dtype(), out_shape);
  int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis + 1, x.shape().size());
  auto m = static_cast<int64_t>(picked.size());
  ElementCopier copy(x, out);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t s = 0; s < m; ++s) copy((o * m + s) * inner, (o * n + picked[s]) * inner, inner);
  return {out};
}

Tensors ref_TopK(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(x.rank() >= 1, "input must have rank >= 1");
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", -1), x.rank());
  int64_t k = ctx.attrs().has("k") ? ctx.attrs().get_int("k", 0) : int_scalar_input(ctx, 1, "K");  // TopK-1: attribute
  bool largest = ctx.attrs().get_int("largest", 1) != 0;
  int64_t n = x.dim(static_cast<int>(axis));
  ctx.require(k >= 0 && k <= n, "k = " + std::to_string(k) + " is out of range for an axis of size " + std::to_string(n));
  Shape out_shape = x.shape();
  out_shape[axis] = k;
  Tensor values(x.dtype(), out_shape), indices(DType::Int64, out_shape);
  int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis + 1, x.shape().size());
  visit_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    // A strict order with NaN above every number; ties go to the smaller index. Always
    // sorted, which is also a valid answer for sorted = 0.
    auto less = [](C a, C b) { return is_nan(a) ? false : is_nan(b) || a < b; };
    const T* p = x.data<T>();
    std::vector<std::pair<C, int64_t>> row(static_cast<size_t>(n));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        for (int64_t j = 0; j < n; ++j) row[j] = {static_cast<C>(p[(o * n + j) * inner + in]), j};
        std::partial_sort(row.begin(), row.begin() + k, row.end(), [&](const auto& a, const auto& b) {
          bool first = largest ? less(b.first, a.first) : less(a.first, b.first);
          bool equal = !less(a.first, b.first) && !less(b.first, a.first);
          return first || (equal && a.second < b.second);
        });
        for (int64_t j = 0; j < k; ++j) {
          int64_t at = (o * k + j) * inner + in;
          values.data<T>()[at] = p[(o * n + row[j].second) * inner + in];
          indices.data<int64_t>()[at] = row[j].second;
        }
      }
  });
  return {values, indices};
}

}  // namespace nnc
