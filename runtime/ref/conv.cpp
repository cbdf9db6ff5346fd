// Reference Conv and ConvTranspose (ONNX opset <= 17): N-d spatial, grouped, strided, dilated,
// explicit or automatic padding. Both are written as a gather: for every output position we
// list the (input offset, kernel offset) pairs that contribute to it, then sum over channels.
#include <algorithm>
#include <string>
#include <vector>

#include "runtime/ref/kernel.h"

namespace nnc {
namespace {

// One contribution to an output position: a spatial offset into the input and into the kernel.
struct Tap {
  int64_t in = 0;
  int64_t k = 0;
};

// The spatial geometry of one convolution, resolved per axis.
struct Geometry {
  Shape in, kernel, out;  // spatial sizes
  std::vector<int64_t> strides, dilations;
  std::vector<int64_t> pad_begin;  // may be negative for ConvTranspose with an explicit output_shape
};

int64_t mul_or_fail(const KernelContext& ctx, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) ctx.fail("convolution size arithmetic overflows int64");
  return r;
}
int64_t add_or_fail(const KernelContext& ctx, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) ctx.fail("convolution size arithmetic overflows int64");
  return r;
}
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Attribute values beyond this are model errors; the cap keeps the geometry arithmetic far from overflow.
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

std::string auto_pad_of(const KernelContext& ctx) {
  std::string p = ctx.attrs().get_string("auto_pad", "NOTSET");
  if (p.empty()) p = "NOTSET";
  ctx.require(p == "NOTSET" || p == "SAME_UPPER" || p == "SAME_LOWER" || p == "VALID", "unknown auto_pad '" + p + "'");
  return p;
}

// Checks X and W ranks, the kernel_shape attribute, and fills the per-axis attributes shared by
// Conv and ConvTranspose.
Geometry common_geometry(const KernelContext& ctx, const Shape& x, const Shape& w) {
  ctx.require(x.size() >= 3, "input X must have rank >= 3 (N, C, spatial...), got " + shape_str(x));
  ctx.require(w.size() == x.size(), "weight W " + shape_str(w) + " must have the rank of X " + shape_str(x));
  size_t n = x.size() - 2;
  Geometry g;
  g.in.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  if (ctx.attrs().has("kernel_shape"))
    ctx.require(ctx.attrs().get_ints("kernel_shape") == g.kernel,
                "kernel_shape attribute does not match the weight's spatial shape " + shape_str(g.kernel));
  for (int64_t k : g.kernel) ctx.require(k >= 1, "kernel dimensions must be >= 1, got " + shape_str(g.kernel));
  g.strides = axis_ints(ctx, "strides", n, 1, 1);
  g.dilations = axis_ints(ctx, "dilations", n, 1, 1);
  return g;
}

int64_t effective_kernel(const KernelContext& ctx, const Geometry& g, size_t i) {
  return add_or_fail(ctx, mul_or_fail(ctx, g.kernel[i] - 1, g.dilations[i]), 1);
}

// Conv: out = floor((in + pads - effective_kernel) / stride) + 1, with SAME_* giving ceil(in / stride).
Geometry conv_geometry(const KernelContext& ctx, const Shape& x, const Shape& w) {
  Geometry g = common_geometry(ctx, x, w);
  size_t n = g.in.size();
  std::string auto_pad = auto_pad_of(ctx);
  std::vector<int64_t> pads(2 * n, 0);
  if (auto_pad == "NOTSET") pads = axis_ints(ctx, "pads", 2 * n, 0, 0);
  g.out.resize(n);
  g.pad_begin.resize(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t ek = effective_kernel(ctx, g, i), s = g.strides[i];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g.out[i] = g.in[i] / s + (g.in[i] % s != 0);
      int64_t span = add_or_fail(ctx, mul_or_fail(ctx, std::max<int64_t>(g.out[i] - 1, 0), s), ek);
      int64_t total = std::max<int64_t>(0, span - g.in[i]);
      // The odd pixel of padding goes at the end for SAME_UPPER, at the start for SAME_LOWER.
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else {
      int64_t padded = add_or_fail(ctx, g.in[i], add_or_fail(ctx, pads[i], pads[i + n]));
      ctx.require(padded >= ek, "the kernel (effective size " + std::to_string(ek) +
                                    ") is larger than the padded input (" + std::to_string(padded) +
                                    ") on spatial axis " + std::to_string(i));
      g.out[i] = (padded - ek) / s + 1;
      g.pad_begin[i] = pads[i];
    }
  }
  return g;
}

// ConvTranspose: the "full" output is stride * (in - 1) + output_padding + effective_kernel; pads
// (explicit, or derived from output_shape / SAME_*) crop it. Derived pads follow the ONNX doc:
// SAME_UPPER puts the smaller half at the start, otherwise the larger half; they may be negative,
// which extends the output with positions no input reaches.
Geometry transpose_geometry(const KernelContext& ctx, const Shape& x, const Shape& w) {
  Geometry g = common_geometry(ctx, x, w);
  size_t n = g.in.size();
  std::string auto_pad = auto_pad_of(ctx);
  std::vector<int64_t> out_pad = axis_ints(ctx, "output_padding", n, 0, 0);
  std::vector<int64_t> out_shape = ctx.attrs().get_ints("output_shape", {});
  if (out_shape.size() == n + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);  // full N,C,... form
  ctx.require(out_shape.empty() || out_shape.size() == n,
              "output_shape has " + std::to_string(out_shape.size()) + " entries, expected " + std::to_string(n));
  std::vector<int64_t> pads(2 * n, 0);
  if (out_shape.empty() && auto_pad == "NOTSET") pads = axis_ints(ctx, "pads", 2 * n, 0, 0);
  g.out.resize(n);
  g.pad_begin.resize(n);
  for (size_t i = 0; i < n; ++i) {
    ctx.require(g.in[i] >= 1, "ConvTranspose needs non-empty spatial input dims, got " + shape_str(g.in));
    int64_t full = add_or_fail(ctx, add_or_fail(ctx, mul_or_fail(ctx, g.strides[i], g.in[i] - 1), out_pad[i]),
                               effective_kernel(ctx, g, i));
    bool derived = !out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (derived) {
      g.out[i] = !out_shape.empty() ? out_shape[i] : mul_or_fail(ctx, g.in[i], g.strides[i]);
      ctx.require(g.out[i] >= 0, "output_shape entries must be >= 0");
      int64_t total = full - g.out[i];
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? floor_div(total, 2) : total - floor_div(total, 2);
    } else {
      g.out[i] = full - pads[i] - pads[i + n];
      ctx.require(g.out[i] >= 0, "pads are larger than the ConvTranspose output on spatial axis " + std::to_string(i));
      g.pad_begin[i] = pads[i];
    }
  }
  return g;
}

// Per-axis contributions to output coordinate o, as (input index, kernel index) pairs.
std::vector<Tap> conv_axis_taps(const Geometry& g, size_t i, int64_t o) {
  std::vector<Tap> taps;
  int64_t start = o * g.strides[i] - g.pad_begin[i];
  for (int64_t k = 0; k < g.kernel[i]; ++k) {
    int64_t pos = start + k * g.dilations[i];
    if (pos >= 0 && pos < g.in[i]) taps.push_back({pos, k});
  }
  return taps;
}

// ConvTranspose scatters input i to output i * stride + k * dilation - pad_begin; inverted here.
std::vector<Tap> transpose_axis_taps(const Geometry& g, size_t i, int64_t o) {
  std::vector<Tap> taps;
  int64_t pos = o + g.pad_begin[i];
  for (int64_t k = 0; k < g.kernel[i]; ++k) {
    int64_t num = pos - k * g.dilations[i];
    if (num < 0 || num % g.strides[i] != 0) continue;
    int64_t in = num / g.strides[i];
    if (in < g.in[i]) taps.push_back({in, k});
  }
  return taps;
}

// The cartesian product of per-axis taps, as flat spatial offsets.
std::vector<Tap> combine_taps(const std::vector<std::vector<Tap>>& axes, const Shape& in_strides,
                              const Shape& k_strides) {
  std::vector<Tap> taps{Tap{}};
  for (size_t i = 0; i < axes.size(); ++i) {
    std::vector<Tap> next;
    next.reserve(taps.size() * axes[i].size());
    for (const Tap& t : taps)
      for (const Tap& a : axes[i]) next.push_back({t.in + a.in * in_strides[i], t.k + a.k * k_strides[i]});
    taps = std::move(next);
  }
  return taps;
}

template <class T>
double load(const T* p, int64_t i) {
  return static_cast<double>(static_cast<compute_t<T>>(p[i]));
}

// Channel bookkeeping: X is [N, C, in...], Y is [N, M, out...], both split into `group` groups.
// Conv's W is [M, C/group, k...]; ConvTranspose's W is [C, M/group, k...].
struct Channels {
  int64_t batch = 0, in_ch = 0, out_ch = 0, group = 1;
  bool transposed = false;
};

template <class T>
void run_conv(const Tensor& X, const Tensor& W, const Tensor* B, Tensor& Y, const Geometry& g, const Channels& ch) {
  const T* x = X.data<T>();
  const T* w = W.data<T>();
  const T* b = B ? B->data<T>() : nullptr;
  T* y = Y.data<T>();
  const int64_t cg = ch.in_ch / ch.group, mg = ch.out_ch / ch.group;
  // With an empty X or W nothing is gathered (the output is the bias), and their shapes,
  // whose products were never checked, are not used for indexing.
  const bool no_taps = X.numel() == 0 || W.numel() == 0;
  const int64_t in_sp = no_taps ? 0 : checked_numel(g.in, "conv input");
  const int64_t k_sp = no_taps ? 0 : checked_numel(g.kernel, "conv kernel");
  const int64_t out_sp = checked_numel(g.out, "conv output");
  const Shape in_strides = no_taps ? Shape() : strides_of(g.in), k_strides = no_taps ? Shape() : strides_of(g.kernel);
  const size_t n = g.in.size();
  std::vector<std::vector<Tap>> axes(n);
  for (int64_t op = 0; op < out_sp; ++op) {
    int64_t rest = op;
    for (size_t i = n; i-- > 0;) {
      int64_t o = rest % g.out[i];
      rest /= g.out[i];
      if (!no_taps) axes[i] = ch.transposed ? transpose_axis_taps(g, i, o) : conv_axis_taps(g, i, o);
    }
    const std::vector<Tap> taps = no_taps ? std::vector<Tap>{} : combine_taps(axes, in_strides, k_strides);
    for (int64_t nb = 0; nb < ch.batch; ++nb) {
      for (int64_t m = 0; m < ch.out_ch; ++m) {
        const int64_t grp = m / mg, ml = m % mg;
        double acc = b ? load(b, m) : 0.0;
        for (int64_t cl = 0; cl < cg; ++cl) {
          const int64_t c = grp * cg + cl;
          const T* xc = x + (nb * ch.in_ch + c) * in_sp;
          const T* wc = w + (ch.transposed ? c * mg + ml : m * cg + cl) * k_sp;
          for (const Tap& t : taps) acc += load(xc, t.in) * load(wc, t.k);
        }
        y[(nb * ch.out_ch + m) * out_sp + op] = convert_scalar<T>(acc);
      }
    }
  }
}

Tensors conv_impl(const KernelContext& ctx, bool transposed) {
  const Tensor& X = ctx.in(0);
  const Tensor& W = ctx.in(1);
  const Tensor* B = ctx.has_input(2) ? &ctx.in(2) : nullptr;
  ctx.require(W.dtype() == X.dtype(), "weight type " + std::string(dtype_name(W.dtype())) +
                                          " differs from input type " + dtype_name(X.dtype()));
  ctx.require(!B || B->dtype() == X.dtype(), "bias type differs from input type");
  Geometry g = transposed ? transpose_geometry(ctx, X.shape(), W.shape()) : conv_geometry(ctx, X.shape(), W.shape());

  Channels ch;
  ch.transposed = transposed;
  ch.group = ctx.attrs().get_int("group", 1);
  ch.batch = X.dim(0);
  ch.in_ch = X.dim(1);
  ctx.require(ch.group >= 1, "group must be >= 1, got " + std::to_string(ch.group));
  ctx.require(ch.in_ch % ch.group == 0, "input channels " + std::to_string(ch.in_ch) + " are not divisible by group " +
                                             std::to_string(ch.group));
  if (transposed) {
    ctx.require(W.dim(0) == ch.in_ch, "weight " + shape_str(W.shape()) + " must have X's " + std::to_string(ch.in_ch) +
                                          " channels as its first dim");
    ch.out_ch = mul_or_fail(ctx, W.dim(1), ch.group);
  } else {
    ctx.require(mul_or_fail(ctx, W.dim(1), ch.group) == ch.in_ch,
                "weight " + shape_str(W.shape()) + " times group " + std::to_string(ch.group) + " does not match " +
                    std::to_string(ch.in_ch) + " input channels");
    ch.out_ch = W.dim(0);
    ctx.require(ch.out_ch % ch.group == 0, "output channels " + std::to_string(ch.out_ch) +
                                               " are not divisible by group " + std::to_string(ch.group));
  }
  checked_mul(ch.batch, std::max(ch.in_ch, ch.out_ch), "conv batch x channels");  // bounds the offsets below
  if (B)
    ctx.require(B->rank() == 1 && B->dim(0) == ch.out_ch,
                "bias " + shape_str(B->shape()) + " must be 1-D with " + std::to_string(ch.out_ch) + " entries");

  Shape out_shape{ch.batch, ch.out_ch};
  out_shape.insert(out_shape.end(), g.out.begin(), g.out.end());
  Tensor Y(X.dtype(), out_shape);
  if (Y.numel() > 0)
    visit_numeric(ctx, X.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      run_conv<T>(X, W, B, Y, g, ch);
    });
  Tensors outs(std::max<size_t>(1, ctx.num_outputs()));
  outs[0] = std::move(Y);
  return outs;
}

}  // namespace

Tensors ref_Conv(const KernelContext& ctx) { return conv_impl(ctx, false); }

Tensors ref_ConvTranspose(const KernelContext& ctx) { return conv_impl(ctx, true); }

}  // namespace nnc
