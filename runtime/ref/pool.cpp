// Reference pooling (ONNX opset <= 17): MaxPool (with the optional Indices output),
// AveragePool, GlobalAveragePool and GlobalMaxPool, over any number of spatial axes.
#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "runtime/ref/kernel.h"

namespace nnc {
namespace {

// The spatial geometry of one pooling op, resolved per axis.
struct PoolGeometry {
  Shape in, kernel, out;  // spatial sizes
  std::vector<int64_t> strides, dilations, pad_begin, pad_end;
};

int64_t mul_or_fail(const KernelContext& ctx, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) ctx.fail("pooling size arithmetic overflows int64");
  return r;
}
int64_t add_or_fail(const KernelContext& ctx, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) ctx.fail("pooling size arithmetic overflows int64");
  return r;
}

// Attribute values beyond this are model errors; the cap keeps all window arithmetic far from overflow.
constexpr int64_t kMaxAttr = int64_t{1} << 32;

// An INTS attribute with one entry per spatial axis (or `def` everywhere when absent).
std::vector<int64_t> axis_ints(const KernelContext& ctx, const char* name, size_t n, int64_t def, int64_t min) {
  std::vector<int64_t> v = ctx.attrs().get_ints(name, std::vector<int64_t>(n, def));
  ctx.require(v.size() == n, std::string(name) + " has " + std::to_string(v.size()) + " entries, expected " +
                                 std::to_string(n));
  for (int64_t x : v)
    ctx.require(x >= min && x <= kMaxAttr, std::string(name) + " value " + std::to_string(x) + " is out of range [" +
                                               std::to_string(min) + ", 2^32]");
  return v;
}

// Output size per the ONNX pooling doc: floor (or ceil with ceil_mode) of
// (in + pads - effective_kernel) / stride, plus one; SAME_* gives ceil(in / stride) and pads
// that centre the windows (the odd pixel at the end for SAME_UPPER, at the start for SAME_LOWER).
PoolGeometry pool_geometry(const KernelContext& ctx, const Shape& x) {
  ctx.require(x.size() >= 3, "input X must have rank >= 3 (N, C, spatial...), got " + shape_str(x));
  const size_t n = x.size() - 2;
  PoolGeometry g;
  g.in.assign(x.begin() + 2, x.end());
  ctx.require(ctx.attrs().has("kernel_shape"), "the kernel_shape attribute is required");
  g.kernel = axis_ints(ctx, "kernel_shape", n, 1, 1);
  g.strides = axis_ints(ctx, "strides", n, 1, 1);
  g.dilations = axis_ints(ctx, "dilations", n, 1, 1);
  const bool ceil_mode = ctx.attrs().get_int("ceil_mode", 0) != 0;
  std::string auto_pad = ctx.attrs().get_string("auto_pad", "NOTSET");
  if (auto_pad.empty()) auto_pad = "NOTSET";
  ctx.require(auto_pad == "NOTSET" || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" || auto_pad == "VALID",
              "unknown auto_pad '" + auto_pad + "'");
  std::vector<int64_t> pads(2 * n, 0);
  if (auto_pad == "NOTSET") pads = axis_ints(ctx, "pads", 2 * n, 0, 0);

  g.out.resize(n);
  g.pad_begin.resize(n);
  g.pad_end.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t ek = add_or_fail(ctx, mul_or_fail(ctx, g.kernel[i] - 1, g.dilations[i]), 1);
    const int64_t s = g.strides[i];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g.out[i] = g.in[i] / s + (g.in[i] % s != 0);
      int64_t span = add_or_fail(ctx, mul_or_fail(ctx, std::max<int64_t>(g.out[i] - 1, 0), s), ek);
      int64_t total = std::max<int64_t>(0, span - g.in[i]);
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
    } else {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[i + n];
      int64_t padded = add_or_fail(ctx, g.in[i], add_or_fail(ctx, pads[i], pads[i + n]));
      ctx.require(padded >= ek, "the kernel (effective size " + std::to_string(ek) +
                                    ") is larger than the padded input (" + std::to_string(padded) +
                                    ") on spatial axis " + std::to_string(i));
      g.out[i] = (padded - ek) / s + (ceil_mode && (padded - ek) % s != 0) + 1;
    }
  }
  return g;
}

// One window element: its spatial offset in the input, row-major and in the Indices' order.
struct Tap {
  int64_t in = 0;
  int64_t index = 0;
};

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The kernel indices k in [0, kernel) whose positions start + k * dilation fall in [lo, hi].
// Computed, not scanned, so a huge kernel_shape costs nothing beyond the positions it covers.
std::pair<int64_t, int64_t> kernel_range(const PoolGeometry& g, size_t i, int64_t o, int64_t lo, int64_t hi) {
  const int64_t start = o * g.strides[i] - g.pad_begin[i], d = g.dilations[i];
  const int64_t k_lo = std::max<int64_t>(0, -floor_div(start - lo, d));  // ceil((lo - start) / d)
  const int64_t k_hi = std::min<int64_t>(g.kernel[i] - 1, floor_div(hi - start, d));
  return {k_lo, k_hi};
}

// Per-axis window of output coordinate o: the in-range input positions.
std::vector<int64_t> window_positions(const PoolGeometry& g, size_t i, int64_t o) {
  std::vector<int64_t> pos;
  auto [k_lo, k_hi] = kernel_range(g, i, o, 0, g.in[i] - 1);
  const int64_t start = o * g.strides[i] - g.pad_begin[i];
  for (int64_t k = k_lo; k <= k_hi; ++k) pos.push_back(start + k * g.dilations[i]);
  return pos;
}

// How many window elements of output coordinate o lie in the padded input [-pad_begin, in + pad_end);
// count_include_pad divides by this (windows running past the padding in ceil mode are cut off).
double padded_window_size(const PoolGeometry& g, size_t i, int64_t o) {
  auto [k_lo, k_hi] = kernel_range(g, i, o, -g.pad_begin[i], g.in[i] + g.pad_end[i] - 1);
  return static_cast<double>(std::max<int64_t>(0, k_hi - k_lo + 1));
}

// The cartesian product of per-axis positions. index_strides give the Indices' layout.
std::vector<Tap> combine(const std::vector<std::vector<int64_t>>& axes, const Shape& in_strides,
                         const Shape& index_strides) {
  std::vector<Tap> taps{Tap{}};
  for (size_t i = 0; i < axes.size(); ++i) {
    std::vector<Tap> next;
    next.reserve(taps.size() * axes[i].size());
    for (const Tap& t : taps)
      for (int64_t p : axes[i]) next.push_back({t.in + p * in_strides[i], t.index + p * index_strides[i]});
    taps = std::move(next);
  }
  return taps;
}

// Column-major strides (storage_order = 1): the first spatial axis varies fastest.
Shape column_major_strides(const Shape& s) {
  Shape st(s.size(), 1);
  for (size_t i = 1; i < s.size(); ++i) st[i] = st[i - 1] * s[i - 1];
  return st;
}

Shape pooled_shape(const Shape& x, const Shape& spatial_out) {
  Shape s{x[0], x[1]};
  s.insert(s.end(), spatial_out.begin(), spatial_out.end());
  return s;
}

Tensors with_outputs(const KernelContext& ctx, Tensor y, Tensor second = Tensor()) {
  Tensors outs(std::max<size_t>(1, ctx.num_outputs()));
  outs[0] = std::move(y);
  if (outs.size() > 1) outs[1] = std::move(second);
  return outs;
}

bool wants_output(const KernelContext& ctx, size_t i) {
  return i < ctx.num_outputs() && ctx.node.outputs[i] != nullptr;
}

template <class T>
bool is_nan(T v) {
  return v != v;  // NOLINT: also compiles for integer compute types
}

// Visits every output position with its window taps; f(out_offset, taps, spatial out coordinate).
// An empty input gives empty windows everywhere (and is not indexed at all).
template <class F>
void for_each_window(const PoolGeometry& g, bool input_empty, bool column_major, F&& f) {
  const size_t n = g.in.size();
  const int64_t out_sp = checked_numel(g.out, "pool output");
  const Shape in_strides = input_empty ? Shape(n, 0) : strides_of(g.in);
  const Shape index_strides = input_empty ? Shape(n, 0) : column_major ? column_major_strides(g.in) : in_strides;
  std::vector<std::vector<int64_t>> axes(n);
  std::vector<int64_t> coord(n);
  for (int64_t op = 0; op < out_sp; ++op) {
    int64_t rest = op;
    bool empty = input_empty;
    for (size_t i = n; i-- > 0;) {
      coord[i] = rest % g.out[i];
      rest /= g.out[i];
      auto [k_lo, k_hi] = kernel_range(g, i, coord[i], 0, g.in[i] - 1);
      empty |= k_hi < k_lo;
    }
    // Positions are only listed when every axis has some, so their product is bounded by the input.
    if (!empty)
      for (size_t i = 0; i < n; ++i) axes[i] = window_positions(g, i, coord[i]);
    f(op, empty ? std::vector<Tap>{} : combine(axes, in_strides, index_strides), coord);
  }
}

template <class T>
void run_maxpool(const Tensor& X, const PoolGeometry& g, bool column_major, Tensor& Y, Tensor* I) {
  using C = compute_t<T>;
  const T* x = X.data<T>();
  T* y = Y.data<T>();
  int64_t* ind = I ? I->data<int64_t>() : nullptr;
  const int64_t planes = checked_mul(X.dim(0), X.dim(1), "pool batch x channels");
  const int64_t in_sp = X.numel() == 0 ? 0 : checked_numel(g.in, "pool input");
  const int64_t out_sp = checked_numel(g.out, "pool output");
  auto visit = [&](int64_t op, const std::vector<Tap>& taps, const std::vector<int64_t>&) {
    for (int64_t p = 0; p < planes; ++p) {
      // NaN wins (as numpy's max); ties keep the first element in row-major window order.
      C best = std::numeric_limits<C>::lowest();
      int64_t best_index = -1;  // stays -1 for a window lying wholly in the padding
      for (const Tap& t : taps) {
        C v = static_cast<C>(x[p * in_sp + t.in]);
        if (best_index < 0 || (!is_nan(best) && (v > best || is_nan(v)))) {
          best = v;
          best_index = t.index;
        }
      }
      y[p * out_sp + op] = static_cast<T>(best);
      if (ind) ind[p * out_sp + op] = best_index < 0 ? -1 : p * in_sp + best_index;
    }
  };
  for_each_window(g, X.numel() == 0, column_major, visit);
}

template <class T>
void run_avgpool(const Tensor& X, const PoolGeometry& g, bool count_include_pad, Tensor& Y) {
  const T* x = X.data<T>();
  T* y = Y.data<T>();
  const int64_t planes = checked_mul(X.dim(0), X.dim(1), "pool batch x channels");
  const int64_t in_sp = X.numel() == 0 ? 0 : checked_numel(g.in, "pool input");
  const int64_t out_sp = checked_numel(g.out, "pool output");
  auto visit = [&](int64_t op, const std::vector<Tap>& taps, const std::vector<int64_t>& coord) {
    double count = static_cast<double>(taps.size());
    if (count_include_pad) {
      count = 1;
      for (size_t i = 0; i < coord.size(); ++i) count *= padded_window_size(g, i, coord[i]);
    }
    for (int64_t p = 0; p < planes; ++p) {
      double sum = 0;
      for (const Tap& t : taps) sum += static_cast<double>(static_cast<compute_t<T>>(x[p * in_sp + t.in]));
      // A window wholly in the padding (huge pads or ceil_mode) gives 0/0 = NaN without
      // count_include_pad, as numpy's mean of nothing does.
      y[p * out_sp + op] = convert_scalar<T>(sum / count);
    }
  };
  for_each_window(g, X.numel() == 0, false, visit);
}

// Global pooling: reduces all spatial axes of [N, C, D1..Dn] to [N, C, 1..1].
template <class T>
void run_global(const Tensor& X, bool is_max, Tensor& Y) {
  using C = compute_t<T>;
  const T* x = X.data<T>();
  T* y = Y.data<T>();
  const int64_t planes = checked_mul(X.dim(0), X.dim(1), "pool batch x channels");
  const int64_t sp = planes ? X.numel() / planes : 0;
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * sp;
    if (is_max) {
      C best = static_cast<C>(xp[0]);
      for (int64_t i = 1; i < sp && !is_nan(best); ++i) {
        C v = static_cast<C>(xp[i]);
        if (v > best || is_nan(v)) best = v;
      }
      y[p] = static_cast<T>(best);
    } else {
      double sum = 0;
      for (int64_t i = 0; i < sp; ++i) sum += static_cast<double>(static_cast<C>(xp[i]));
      y[p] = convert_scalar<T>(sum / static_cast<double>(sp));
    }
  }
}

Tensors global_pool(const KernelContext& ctx, bool is_max) {
  const Tensor& X = ctx.in(0);
  ctx.require(X.rank() >= 2, "input X must have rank >= 2 (N, C, spatial...), got " + shape_str(X.shape()));
  Shape out = X.shape();
  bool empty_spatial = false;
  for (size_t i = 2; i < out.size(); ++i) {
    empty_spatial |= out[i] == 0;
    out[i] = 1;
  }
  Tensor Y(X.dtype(), out);
  if (is_max)
    ctx.require(!empty_spatial || Y.numel() == 0, "GlobalMaxPool over an empty spatial extent " + shape_str(X.shape()));
  visit_numeric(ctx, X.dtype(), [&](auto tag) { run_global<typename decltype(tag)::type>(X, is_max, Y); });
  return with_outputs(ctx, std::move(Y));
}

}  // namespace

Tensors ref_MaxPool(const KernelContext& ctx) {
  const Tensor& X = ctx.in(0);
  PoolGeometry g = pool_geometry(ctx, X.shape());
  const int64_t order = ctx.attrs().get_int("storage_order", 0);
  ctx.require(order == 0 || order == 1, "storage_order must be 0 or 1, got " + std::to_string(order));
  Tensor Y(X.dtype(), pooled_shape(X.shape(), g.out));
  Tensor I;
  if (wants_output(ctx, 1)) I = Tensor(DType::Int64, Y.shape());
  if (Y.numel() > 0)
    visit_numeric(ctx, X.dtype(), [&](auto tag) {
        run_maxpool<typename decltype(tag)::type>(X, g, order == 1, Y, I.empty() ? nullptr : &I);
    });
  return with_outputs(ctx, std::move(Y), std::move(I));
}

Tensors ref_AveragePool(const KernelContext& ctx) {
  const Tensor& X = ctx.in(0);
  PoolGeometry g = pool_geometry(ctx, X.shape());
  const bool count_include_pad = ctx.attrs().get_int("count_include_pad", 0) != 0;
  Tensor Y(X.dtype(), pooled_shape(X.shape(), g.out));
  if (Y.numel() > 0)
    visit_numeric(ctx, X.dtype(), [&](auto tag) {
      run_avgpool<typename decltype(tag)::type>(X, g, count_include_pad, Y);
    });
  return with_outputs(ctx, std::move(Y));
}

Tensors ref_GlobalAveragePool(const KernelContext& ctx) { return global_pool(ctx, false); }

Tensors ref_GlobalMaxPool(const KernelContext& ctx) { return global_pool(ctx, true); }

}  // namespace nnc
