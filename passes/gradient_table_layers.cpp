// The gradient table's layer ops: Gemm, Conv, ConvTranspose, the pools, LayerNormalization,
// Gather, Slice, Dropout and the reductions. Their rules need the layer's geometry, so they
// need static shapes (the training graph is built for one batch size). See
// passes/gradient_table.cpp for the element-wise ops.
#include <algorithm>
#include <limits>
#include <string>

#include "ir/error.h"
#include "passes/autodiff.h"
#include "passes/gradient_table_parts.h"
#include "passes/pattern.h"

namespace nnc {
namespace {

using Ints = std::vector<int64_t>;

Shape shape_of(const Node& n, const Value* v) {
  if (!v || !v->has_static_shape())
    throw Error("autodiff: " + n.label() + ": the gradient needs the static shape of '" + (v ? v->name : "?") + "'");
  return v->static_shape();
}

// A node's output typed like the dims given (for rules whose results have a new shape).
Value* shaped(Value* v, DType dtype, const Shape& s) {
  v->dtype = dtype;
  v->dims = Dims{};
  for (int64_t d : s) v->dims->push_back(Dim::fixed(d));
  return v;
}

Value* transpose(GradientBuilder& b, Value* v, const Ints& perm) {
  Attributes a;
  a.set("perm", perm);
  return b.op(OpKind::Transpose, {v}, v->dtype, std::move(a));
}

Ints range(int64_t from, int64_t to) {
  Ints r;
  for (int64_t i = from; i < to; ++i) r.push_back(i);
  return r;
}

// The spatial geometry of a convolution or pool whose input and output shapes are known.
// Only the padding the windows reach matters, so the trailing pad is the part they reach.
struct Window {
  Ints in, kernel, out, strides, dilations, pad_begin, pad_end;
  size_t rank() const { return in.size(); }
  int64_t span(size_t i) const { return (out[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1; }
};

Window window_of(const Node& n, const Shape& x, const Ints& kernel, const Shape& y) {
  size_t k = x.size() - 2;
  Window w;
  w.in.assign(x.begin() + 2, x.end());
  w.out.assign(y.begin() + 2, y.end());
  w.kernel = kernel;
  w.strides = n.attrs.get_ints("strides", Ints(k, 1));
  w.dilations = n.attrs.get_ints("dilations", Ints(k, 1));
  std::string auto_pad = n.attrs.get_string("auto_pad", "NOTSET");
  Ints pads = n.attrs.get_ints("pads", Ints(2 * k, 0));
  if (w.strides.size() != k || w.dilations.size() != k || pads.size() != 2 * k || kernel.size() != k)
    throw Error("autodiff: " + n.label() + ": strides, dilations, pads or the kernel do not match the input's rank");
  for (size_t i = 0; i < k; ++i) {
    int64_t total = std::max<int64_t>(0, w.span(i) - w.in[i]);
    int64_t begin = auto_pad == "SAME_UPPER" ? total / 2 : auto_pad == "SAME_LOWER" ? total - total / 2
                    : auto_pad == "VALID"    ? 0 : pads[i];
    w.pad_begin.push_back(begin);
    w.pad_end.push_back(std::max<int64_t>(0, w.span(i) - w.in[i] - begin));
  }
  return w;
}

Attributes window_attrs(const Window& w, int64_t group) {
  Attributes a;
  a.set("strides", w.strides);
  a.set("dilations", w.dilations);
  Ints pads = w.pad_begin;
  pads.insert(pads.end(), w.pad_end.begin(), w.pad_end.end());
  a.set("pads", pads);
  a.set("group", group);
  return a;
}

// The adjoint of a strided window: spreads g (shaped like the output) back over the input
// with ConvTranspose. output_padding covers input rows no window reached.
Value* spread_windows(GradientBuilder& b, Value* g, Value* weight, const Window& w, int64_t group, const Value* like) {
  Attributes a = window_attrs(w, group);
  Ints extra;
  for (size_t i = 0; i < w.rank(); ++i) extra.push_back(w.in[i] - (w.span(i) - w.pad_begin[i] - w.pad_end[i]));
  a.set("output_padding", extra);
  return b.op(OpKind::ConvTranspose, {g, weight}, like, std::move(a));
}

// dW of y = conv(x, W) (also ConvTranspose's, with x and dy swapped): a convolution over the
// batch whose kernel is dy, with strides and dilations exchanged. Each (n, c) plane of x is
// its own group, correlated with the dy planes of the output channels of c's group; the
// batch is then summed. Result [M, C/group, k...].
Value* conv_weight_gradient(GradientBuilder& b, Value* x, Value* dy, const Shape& xs, const Shape& ys,
                            const Window& w, int64_t group, const Value* weight) {
  int64_t N = xs[0], C = xs[1], M = ys[1], Cg = C / group, Mg = M / group;
  DType t = x->dtype;
  Shape planes{1, N * C}, dy_split{N, group, 1, Mg}, dy_wide{N, group, Cg, Mg};
  planes.insert(planes.end(), w.in.begin(), w.in.end());
  dy_split.insert(dy_split.end(), w.out.begin(), w.out.end());
  dy_wide.insert(dy_wide.end(), w.out.begin(), w.out.end());
  Shape kernels{N * C * Mg, 1};
  kernels.insert(kernels.end(), w.out.begin(), w.out.end());
  Value* wide = shaped(b.op(OpKind::Expand, {b.reshape(dy, dy_split), b.ints(dy_wide)}, t), t, dy_wide);
  Window swapped = w;
  swapped.strides = w.dilations;
  swapped.dilations = w.strides;
  Value* corr = b.op(OpKind::Conv, {b.reshape(x, planes), b.reshape(wide, kernels)}, t, window_attrs(swapped, N * C));
  // Output extent per axis: at least the kernel; extra trailing input can make it longer.
  Shape got{N, group, Cg, Mg}, starts, ends, axes;
  for (size_t i = 0; i < w.rank(); ++i) {
    int64_t len = (w.in[i] + w.pad_begin[i] + w.pad_end[i] - ((w.out[i] - 1) * w.strides[i] + 1)) / w.dilations[i] + 1;
    got.push_back(len);
    starts.push_back(0);
    ends.push_back(w.kernel[i]);
    axes.push_back(static_cast<int64_t>(i) + 2);  // in [M, C/group, k...]
  }
  Value* summed = b.reduce_sum(b.reshape(corr, got), {0}, false);  // [group, Cg, Mg, k'...]
  Ints perm{0, 2, 1};
  for (size_t i = 0; i < w.rank(); ++i) perm.push_back(static_cast<int64_t>(i) + 3);
  Shape by_out{M, Cg};
  by_out.insert(by_out.end(), got.begin() + 4, got.end());
  Value* dw = b.reshape(transpose(b, summed, perm), by_out);
  if (!std::equal(got.begin() + 4, got.end(), w.kernel.begin()))
    dw = b.op(OpKind::Slice, {dw, b.ints(starts), b.ints(ends), b.ints(axes)}, weight);
  return dw;
}

// dW of an ungrouped convolution as one GEMM over im2col columns:
//   cols[(c, k), (n, o)] = Xpadded[n, c, o·s + k·d],   dW[m, (c, k)] = Σ_(n,o) dY[n, m, o] · cols[(c, k), (n, o)]
// (each kernel tap k is a strided Slice of the padded input; the GEMM does the arithmetic).
Value* conv_weight_gradient_gemm(GradientBuilder& b, Value* x, Value* dy, const Shape& xs, const Shape& ys, const Window& w,
                                 const Value* weight) {
  size_t r = w.rank();
  int64_t N = xs[0], C = xs[1], M = ys[1], taps = 1, positions = N;
  for (size_t i = 0; i < r; ++i) taps *= w.kernel[i], positions *= w.out[i];
  Ints pads(2 * (r + 2), 0);
  for (size_t i = 0; i < r; ++i) pads[2 + i] = w.pad_begin[i], pads[r + 4 + i] = w.pad_end[i];
  Value* xp = b.op(OpKind::Pad, {x, b.ints(pads)}, x->dtype);
  Shape tap_shape{N, C, 1};
  tap_shape.insert(tap_shape.end(), w.out.begin(), w.out.end());
  std::vector<Value*> columns;
  for (int64_t t = 0; t < taps; ++t) {
    Ints starts, ends, axes, steps;
    for (int64_t i = static_cast<int64_t>(r) - 1, rest = t; i >= 0; --i) {
      size_t a = static_cast<size_t>(i);
      int64_t k = rest % w.kernel[a];
      rest /= w.kernel[a];
      starts.insert(starts.begin(), k * w.dilations[a]);
      ends.insert(ends.begin(), k * w.dilations[a] + (w.out[a] - 1) * w.strides[a] + 1);
      axes.insert(axes.begin(), i + 2);
      steps.insert(steps.begin(), w.strides[a]);
    }
    Value* tap = b.op(OpKind::Slice, {xp, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)}, x->dtype);
    columns.push_back(b.reshape(tap, tap_shape));
  }
  Attributes cat;
  cat.set("axis", int64_t{2});
  Value* stacked = columns.size() == 1 ? columns[0] : b.op(OpKind::Concat, columns, x->dtype, std::move(cat));  // [N, C, taps, o...]
  Ints to_cols{1, 2, 0}, to_rows{1, 0};
  for (size_t i = 0; i < r; ++i) to_cols.push_back(static_cast<int64_t>(i) + 3), to_rows.push_back(static_cast<int64_t>(i) + 2);
  Value* cols = b.reshape(transpose(b, stacked, to_cols), {C * taps, positions});
  Value* rows = b.reshape(transpose(b, dy, to_rows), {M, positions});
  Attributes gemm;
  gemm.set("transB", int64_t{1});
  return b.reshape(b.op(OpKind::Gemm, {rows, cols}, x->dtype, std::move(gemm)), weight->static_shape());
}

// dX of a stride-1 convolution is itself a convolution: dY with the kernel flipped and its
// channel axes swapped, padded by d·(k − 1) − pad on each side (when that is not negative).
Value* conv_input_gradient(GradientBuilder& b, Value* dy, Value* wv, const Window& w, int64_t group, const Value* x) {
  bool as_conv = group == 1;
  Ints pads(2 * w.rank());
  for (size_t i = 0; i < w.rank(); ++i) {
    int64_t reach = w.dilations[i] * (w.kernel[i] - 1);
    pads[i] = reach - w.pad_begin[i];
    pads[w.rank() + i] = reach - w.pad_end[i] + (w.in[i] - (w.span(i) - w.pad_begin[i] - w.pad_end[i]));
    as_conv = as_conv && w.strides[i] == 1 && pads[i] >= 0 && pads[w.rank() + i] >= 0;
  }
  if (!as_conv) return spread_windows(b, dy, wv, w, group, x);
  Ints swap{1, 0}, starts, ends, axes, steps;
  for (size_t i = 0; i < w.rank(); ++i) {
    swap.push_back(static_cast<int64_t>(i) + 2);
    starts.push_back(-1), ends.push_back(std::numeric_limits<int64_t>::min()), axes.push_back(static_cast<int64_t>(i) + 2), steps.push_back(-1);
  }
  Value* flipped = b.op(OpKind::Slice, {transpose(b, wv, swap), b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)}, wv->dtype);
  Attributes a;
  a.set("dilations", w.dilations);
  a.set("pads", pads);
  return b.op(OpKind::Conv, {dy, flipped}, x, std::move(a));
}

// Y = conv(X, W) + B: dX by conv_input_gradient, dW by the im2col GEMM (or, grouped,
// conv_weight_gradient), dB = Σ dY over N and space.
std::vector<Value*> conv_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value *x = n.input(0), *wv = n.input(1), *bias = n.input(2), *y = n.outputs[0];
  Shape xs = shape_of(n, x), ws = shape_of(n, wv), ys = shape_of(n, y);
  int64_t group = n.attrs.get_int("group", 1);
  Window w = window_of(n, xs, Ints(ws.begin() + 2, ws.end()), ys);
  Value* dx = conv_input_gradient(b, dy, wv, w, group, x);
  Value* dw = group == 1 ? conv_weight_gradient_gemm(b, x, dy, xs, ys, w, wv) : conv_weight_gradient(b, x, dy, xs, ys, w, group, wv);
  Value* db = bias ? b.reduce_sum(dy, [&] { Ints a{0}; for (size_t i = 2; i < ys.size(); ++i) a.push_back(int64_t(i)); return a; }(), false) : nullptr;
  return {dx, dw, db};
}

// Y = ConvTranspose(X, W) is the adjoint of a convolution from Y's space to X's:
// dX = Conv(dY, W) with the same geometry, and dW is that convolution's weight gradient
// with dY as its input and X as its output gradient. Explicit pads only.
std::vector<Value*> conv_transpose_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value *x = n.input(0), *wv = n.input(1), *bias = n.input(2), *y = n.outputs[0];
  if (n.attrs.has("output_shape") || n.attrs.get_string("auto_pad", "NOTSET") != "NOTSET")
    throw Error("autodiff: " + n.label() + ": ConvTranspose's gradient needs explicit pads (no output_shape or auto_pad)");
  Shape xs = shape_of(n, x), ws = shape_of(n, wv), ys = shape_of(n, y);
  int64_t group = n.attrs.get_int("group", 1);
  Window w = window_of(n, ys, Ints(ws.begin() + 2, ws.end()), xs);  // the convolution Y-space -> X-space
  Ints pads = n.attrs.get_ints("pads", Ints(2 * w.rank(), 0));
  for (size_t i = 0; i < w.rank(); ++i) w.pad_end[i] = pads[w.rank() + i];
  Value* dx = b.op(OpKind::Conv, {dy, wv}, x, window_attrs(w, group));
  Value* dw = conv_weight_gradient(b, dy, x, ys, xs, w, group, wv);
  Ints axes{0};
  for (size_t i = 2; i < ys.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  return {dx, dw, bias ? b.reduce_sum(dy, axes, false) : nullptr};
}

// Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A (B' likewise):
//   dA' = α·dY·B'ᵀ,  dB' = α·A'ᵀ·dY,  dC = β·dY summed down to C's shape.
std::vector<Value*> gemm_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value *a = n.input(0), *bm = n.input(1), *c = n.input(2), *y = n.outputs[0];
  int64_t ta = n.attrs.get_int("transA", 0), tb = n.attrs.get_int("transB", 0);
  float alpha = n.attrs.get_float("alpha", 1.0f), beta = n.attrs.get_float("beta", 1.0f);
  auto gemm = [&](Value* p, Value* q, int64_t tp, int64_t tq, const Value* like) {
    Attributes at;
    at.set("alpha", alpha);
    at.set("transA", tp);
    at.set("transB", tq);
    return b.op(OpKind::Gemm, {p, q}, like, std::move(at));
  };
  Value* da = ta ? gemm(bm, dy, tb, 1, a) : gemm(dy, bm, 0, tb ? 0 : 1, a);
  Value* db = tb ? gemm(dy, a, 1, ta, bm) : gemm(a, dy, ta ? 0 : 1, 0, bm);
  Value* dc = nullptr;
  if (c) dc = b.unbroadcast(beta == 1.0f ? dy : b.mul(dy, b.scalar(beta, y), y), y, c);
  return {da, db, dc};
}

// MaxPool: dy goes to the element each window picked. The pool runs again with its Indices
// output (flat positions in X), and dy is scatter-added there; windows wholly in the padding
// (index −1) contribute nothing.
// Disjoint windows (stride = kernel, no padding or dilation), in one element-wise kernel: dy
// goes to the elements equal to their window's maximum, in a view with each window's taps on
// axes of their own. Exact ties (rare in float activations; ReLU's zeros get no gradient from
// ReLU anyway) each receive dy, where the Indices path below picks the first.
std::optional<Value*> disjoint_max_pool_gradient(GradientBuilder& b, const Node& n, Value* dy, const Shape& xs, const Shape& ys) {
  size_t r = xs.size() - 2;
  Ints kernel = n.attrs.get_ints("kernel_shape"), strides = n.attrs.get_ints("strides", Ints(r, 1));
  Ints dil = n.attrs.get_ints("dilations", Ints(r, 1)), pads = n.attrs.get_ints("pads", Ints(2 * r, 0));
  std::string auto_pad = n.attrs.get_string("auto_pad", "NOTSET");
  bool disjoint = kernel == strides && dil == Ints(r, 1) && pads == Ints(2 * r, 0) && (auto_pad == "NOTSET" || auto_pad == "VALID") &&
                  n.attrs.get_int("ceil_mode", 0) == 0 && n.outputs.size() == 1;
  if (!disjoint) return std::nullopt;
  Value *x = n.input(0), *y = n.outputs[0];
  Shape split{xs[0], xs[1]}, window{xs[0], xs[1]}, covered{xs[0], xs[1]};
  Ints ends, crop_axes, pad_back(2 * xs.size(), 0);
  bool cropped = false;
  for (size_t i = 0; i < r; ++i) {
    split.push_back(ys[2 + i]), split.push_back(kernel[i]);
    window.push_back(ys[2 + i]), window.push_back(1);
    covered.push_back(ys[2 + i] * kernel[i]);
    ends.push_back(covered.back()), crop_axes.push_back(static_cast<int64_t>(i) + 2);
    pad_back[xs.size() + 2 + i] = xs[2 + i] - covered.back();
    cropped |= covered.back() != xs[2 + i];
  }
  Value* xc = cropped ? b.op(OpKind::Slice, {x, b.ints(Ints(r, 0)), b.ints(ends), b.ints(crop_axes)}, x->dtype) : x;
  Value* x6 = b.reshape(xc, split);
  Value* is_max = b.op(OpKind::Equal, {x6, b.reshape(y, window)}, DType::Bool);
  Attributes to;
  to.set("to", static_cast<int64_t>(x->dtype));
  Value* hits = b.op(OpKind::Cast, {is_max}, x6, std::move(to));
  Value* dx = b.reshape(b.mul(hits, b.reshape(dy, window), x6), covered);
  return cropped ? b.op(OpKind::Pad, {dx, b.ints(pad_back)}, x) : dx;
}

// MaxPool: dy goes to the element each window picked. Overlapping or padded windows: the pool
// runs again with its Indices output (flat positions in X), and dy is scatter-added there;
// windows wholly in the padding (index −1) contribute nothing.
std::vector<Value*> max_pool_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value *x = n.input(0), *y = n.outputs[0];
  Shape xs = shape_of(n, x), ys = shape_of(n, y);
  if (auto dx = disjoint_max_pool_gradient(b, n, dy, xs, ys)) return {*dx};
  Attributes attrs = n.attrs;
  attrs.set("storage_order", int64_t{0});
  Node* again = b.graph().add_node(OpKind::MaxPool, {x}, 2, b.graph().unique_name("grad_MaxPool"), std::move(attrs));
  shaped(again->outputs[0], x->dtype, ys);
  Value* idx = shaped(again->outputs[1], DType::Int64, ys);
  int64_t count = 1, total = 1;
  for (int64_t d : ys) count *= d;
  for (int64_t d : xs) total *= d;
  Value* picked = b.op(OpKind::GreaterOrEqual, {idx, add_constant(b.graph(), "grad_zero", Tensor::from_int64s({0}, {}))}, DType::Bool);
  Value* upd = b.op(OpKind::Where, {picked, dy, b.scalar(0, x)}, y);
  Value* where = b.op(OpKind::Max, {idx, add_constant(b.graph(), "grad_zero", Tensor::from_int64s({0}, {}))}, idx);
  Attributes sa;
  sa.set("axis", int64_t{0});
  sa.set("reduction", std::string("add"));
  Tensor zeros(x->dtype, {total});
  Value* flat = b.op(OpKind::ScatterElements,
                     {add_constant(b.graph(), "grad_zeros", std::move(zeros)), b.reshape(where, {count}), b.reshape(upd, {count})},
                     x->dtype, std::move(sa));
  return {b.reshape(flat, xs)};
}

// AveragePool: each output's dy, divided by its window's element count, spread evenly over the
// window (a ConvTranspose with a kernel of ones, one group per channel).
std::vector<Value*> average_pool_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value *x = n.input(0), *y = n.outputs[0];
  Shape xs = shape_of(n, x), ys = shape_of(n, y);
  Window w = window_of(n, xs, n.attrs.get_ints("kernel_shape"), ys);
  bool include_pad = n.attrs.get_int("count_include_pad", 0) != 0;
  Ints pads = n.attrs.get_ints("pads", Ints(2 * w.rank(), 0));
  // counts[o] = Π over axes of the taps inside the input (or inside input + pads).
  Shape cs{1, 1};
  cs.insert(cs.end(), w.out.begin(), w.out.end());
  Tensor counts(x->dtype, cs);
  for (int64_t o = 0; o < counts.numel(); ++o) {
    int64_t rest = o, cnt = 1;
    for (size_t i = w.rank(); i-- > 0;) {
      int64_t oi = rest % w.out[i];
      rest /= w.out[i];
      int64_t lo = include_pad ? -w.pad_begin[i] : 0, hi = include_pad ? w.in[i] + pads[w.rank() + i] : w.in[i], taps = 0;
      for (int64_t k = 0; k < w.kernel[i]; ++k) {
        int64_t p = oi * w.strides[i] + k * w.dilations[i] - w.pad_begin[i];
        taps += p >= lo && p < hi;
      }
      cnt *= taps;
    }
    counts.set_double(o, static_cast<double>(std::max<int64_t>(cnt, 1)));
  }
  Shape ks{xs[1], 1};
  ks.insert(ks.end(), w.kernel.begin(), w.kernel.end());
  Tensor ones(x->dtype, ks);
  for (int64_t i = 0; i < ones.numel(); ++i) ones.set_double(i, 1.0);
  Value* per_tap = b.div(dy, add_constant(b.graph(), "grad_counts", std::move(counts)), y);
  return {spread_windows(b, per_tap, add_constant(b.graph(), "grad_ones", std::move(ones)), w, xs[1], x)};
}

// LayerNormalization over the trailing axes, with x̂ = (x − μ)·r, r = 1/√(σ² + ε), g = dy·γ:
//   dx = r·(g − mean(g) − x̂·mean(g·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy  (means over the normalised axes)
std::vector<Value*> layer_norm_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value *x = n.input(0), *scale = n.input(1), *bias = n.input(2), *y = n.outputs[0];
  Shape xs = shape_of(n, x);
  int64_t rank = static_cast<int64_t>(xs.size()), axis = n.attrs.get_int("axis", -1);
  if (axis < 0) axis += rank;
  Ints axes = range(axis, rank);
  int64_t count = 1;
  for (int64_t a : axes) count *= xs[static_cast<size_t>(a)];
  auto mean = [&](Value* v) { return b.mul(b.reduce_sum(v, axes, true), b.scalar(1.0 / static_cast<double>(count), x), x); };
  Value* centred = b.sub(x, mean(x), x);
  Value* var = mean(b.mul(centred, centred, x));
  Value* eps = b.scalar(n.attrs.get_float("epsilon", 1e-5f), x);
  Value* r = b.op(OpKind::Reciprocal, {b.op(OpKind::Sqrt, {b.add(var, eps, x)}, x)}, x);
  Value* xhat = b.mul(centred, r, x);
  Value* g = b.mul(dy, scale, y);
  Value* dx = b.mul(r, b.sub(b.sub(g, mean(g), x), b.mul(xhat, mean(b.mul(g, xhat, x)), x), x), x);
  Value* dscale = b.unbroadcast(b.mul(dy, xhat, y), y, scale);
  return {dx, dscale, bias ? b.unbroadcast(dy, y, bias) : nullptr};
}

// Gather along `axis`: dy's rows are added back at their indices (ScatterND with reduction add
// into zeros, with the gathered axis moved to the front and negative indices wrapped).
std::vector<Value*> gather_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value *x = n.input(0), *idx = n.input(1);
  Shape xs = shape_of(n, x), is = shape_of(n, idx);
  int64_t r = static_cast<int64_t>(xs.size()), q = static_cast<int64_t>(is.size()), axis = n.attrs.get_int("axis", 0);
  if (axis < 0) axis += r;
  int64_t D = xs[static_cast<size_t>(axis)], K = 1;
  for (int64_t d : is) K *= d;
  // x with `axis` first: [D, x's other axes]; dy likewise: [index axes..., x's other axes].
  Ints x_front{axis}, dy_front = range(axis, axis + q);
  Shape moved{D}, rows{K, 1}, upd_shape{K};
  for (int64_t i = 0; i < r; ++i)
    if (i != axis) {
      x_front.push_back(i);
      moved.push_back(xs[static_cast<size_t>(i)]);
      upd_shape.push_back(xs[static_cast<size_t>(i)]);
    }
  for (int64_t i = 0; i < axis; ++i) dy_front.push_back(i);
  for (int64_t i = axis + q; i < r - 1 + q; ++i) dy_front.push_back(i);
  Attributes to_int64;
  to_int64.set("to", static_cast<int64_t>(DType::Int64));
  Value* i64 = idx->dtype == DType::Int64 ? idx : b.op(OpKind::Cast, {idx}, DType::Int64, std::move(to_int64));
  Value* zero = add_constant(b.graph(), "grad_zero", Tensor::from_int64s({0}, {}));
  Value* wrapped = b.op(OpKind::Where, {b.op(OpKind::Less, {i64, zero}, DType::Bool),
                                        b.op(OpKind::Add, {i64, add_constant(b.graph(), "grad_dim", Tensor::from_int64s({D}, {}))}, DType::Int64), i64},
                        DType::Int64);
  Attributes sa;
  sa.set("reduction", std::string("add"));
  Value* zeros = add_constant(b.graph(), "grad_zeros", Tensor(x->dtype, moved));
  Value* scattered = b.op(OpKind::ScatterND, {zeros, b.reshape(wrapped, rows), b.reshape(transpose(b, dy, dy_front), upd_shape)},
                          x->dtype, std::move(sa));
  Ints back(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) back[static_cast<size_t>(x_front[static_cast<size_t>(i)])] = i;
  return {b.op(OpKind::Transpose, {scattered}, x, [&] { Attributes a; a.set("perm", back); return a; }()), nullptr};
}

// Slice with unit steps: dy padded with zeros back to x's shape.
std::vector<Value*> slice_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value* x = n.input(0);
  Shape xs = shape_of(n, x);
  auto constant_ints = [&](size_t i) -> std::optional<Ints> {
    if (!n.input(i)) return std::nullopt;
    const Tensor* t = constant_of(n.input(i));
    if (!t) throw Error("autodiff: " + n.label() + ": Slice's gradient needs constant starts, ends, axes and steps");
    return t->to_int64s();
  };
  Ints starts = *constant_ints(1), ends = *constant_ints(2);
  int64_t r = static_cast<int64_t>(xs.size());
  Ints axes = constant_ints(3).value_or(range(0, static_cast<int64_t>(starts.size())));
  Ints steps = constant_ints(4).value_or(Ints(starts.size(), 1));
  Ints pads(2 * xs.size(), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    if (steps[i] != 1) throw Error("autodiff: " + n.label() + ": Slice's gradient supports unit steps only");
    int64_t a = axes[i] < 0 ? axes[i] + r : axes[i], dim = xs[static_cast<size_t>(a)];
    auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + dim : v, 0, dim); };
    int64_t s = clamp(starts[i]), e = std::max(s, clamp(ends[i]));
    pads[static_cast<size_t>(a)] = s;
    pads[static_cast<size_t>(a + r)] = dim - e;
  }
  return {b.op(OpKind::Pad, {dy, b.ints(pads)}, x)};
}

// Dropout: the identity in inference mode; in training mode dy·mask/(1 − ratio), which needs
// the node's mask output (the training graph feeds masks as inputs instead).
std::vector<Value*> dropout_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value* x = n.input(0);
  Value* mode = n.input(2);
  bool training = false;
  if (mode) {
    std::optional<double> m = scalar_constant(mode);
    if (!m) throw Error("autodiff: " + n.label() + ": Dropout's training_mode must be constant");
    training = *m != 0;
  }
  if (!training) return {dy};
  if (n.outputs.size() < 2 || !n.outputs[1])
    throw Error("autodiff: " + n.label() + ": Dropout in training mode needs its mask output for the gradient");
  double ratio = n.input(1) ? scalar_constant(n.input(1)).value_or(0.5) : n.attrs.get_float("ratio", 0.5f);
  Attributes ca;
  ca.set("to", static_cast<int64_t>(x->dtype));  // DType numbers are ONNX's
  Value* keep = b.op(OpKind::Cast, {n.outputs[1]}, x, std::move(ca));
  return {b.mul(b.mul(dy, keep, x), b.scalar(1 / (1 - ratio), x), x)};
}

// The reductions: dy (and y, where the rule needs it) spread back over the reduced axes, times
// the derivative of the reduced term:
//   Sum: 1   Mean: 1/n   SumSquare: 2x   L1: sign(x)   L2: x/y   LogSum: 1/eᵞ   LogSumExp: eˣ⁻ʸ
//   Prod: y/x   Max, Min: [x = y]
std::vector<Value*> reduction_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  Value *x = n.input(0), *y = n.outputs[0];
  Shape xs = shape_of(n, x), kept = xs;
  Ints axes = n.attrs.get_ints("axes");
  if (const Tensor* t = constant_of(n.input(1))) axes = t->to_int64s();
  else if (n.input(1)) throw Error("autodiff: " + n.label() + ": the reduction's axes must be constant");
  if (axes.empty() && n.attrs.get_int("noop_with_empty_axes", 0)) return {dy};
  if (axes.empty()) axes = range(0, static_cast<int64_t>(xs.size()));
  int64_t count = 1;
  for (int64_t a : axes) {
    size_t i = static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(xs.size()) : a);
    count *= xs.at(i);
    kept.at(i) = 1;
  }
  auto spread = [&](Value* v) { return b.op(OpKind::Expand, {b.reshape(v, kept), b.ints(xs)}, x); };
  Value* g = spread(dy);
  switch (n.op) {
    case OpKind::ReduceSum: return {g};
    case OpKind::ReduceMean: return {b.mul(g, b.scalar(1.0 / static_cast<double>(count), x), x)};
    case OpKind::ReduceSumSquare: return {b.mul(g, b.mul(x, b.scalar(2, x), x), x)};
    case OpKind::ReduceL1: return {b.mul(g, b.op(OpKind::Sign, {x}, x), x)};
    case OpKind::ReduceL2: return {b.mul(g, b.div(x, spread(y), x), x)};
    case OpKind::ReduceLogSum: return {b.div(g, b.op(OpKind::Exp, {spread(y)}, x), x)};
    case OpKind::ReduceLogSumExp: return {b.mul(g, b.op(OpKind::Exp, {b.sub(x, spread(y), x)}, x), x)};
    case OpKind::ReduceProd: return {b.mul(g, b.div(spread(y), x, x), x)};
    case OpKind::ReduceMax:
    case OpKind::ReduceMin: return {b.op(OpKind::Where, {b.op(OpKind::Equal, {x, spread(y)}, DType::Bool), g, b.scalar(0, x)}, x)};
    default: throw Error("autodiff: " + n.label() + ": not a reduction");
  }
}

}  // namespace

std::optional<std::vector<Value*>> layer_gradient(GradientBuilder& b, const Node& n, Value* dy) {
  switch (n.op) {
    case OpKind::Gemm: return gemm_gradient(b, n, dy);
    case OpKind::Conv: return conv_gradient(b, n, dy);
    case OpKind::ConvTranspose: return conv_transpose_gradient(b, n, dy);
    case OpKind::MaxPool: return max_pool_gradient(b, n, dy);
    case OpKind::AveragePool: return average_pool_gradient(b, n, dy);
    // GlobalAveragePool: dy/(H·W) everywhere;  GlobalMaxPool: dy where x is the maximum
    case OpKind::GlobalAveragePool: {
      Value* x = n.input(0);
      Shape xs = shape_of(n, x);
      int64_t count = 1;
      for (size_t i = 2; i < xs.size(); ++i) count *= xs[i];
      Value* spread = b.op(OpKind::Expand, {dy, b.ints(xs)}, x);
      return std::vector<Value*>{b.mul(spread, b.scalar(1.0 / static_cast<double>(count), x), x)};
    }
    case OpKind::GlobalMaxPool: {
      Value* x = n.input(0);
      Value* is_max = b.op(OpKind::Equal, {x, n.outputs[0]}, DType::Bool);
      return std::vector<Value*>{b.op(OpKind::Where, {is_max, b.op(OpKind::Expand, {dy, b.ints(shape_of(n, x))}, x), b.scalar(0, x)}, x)};
    }
    case OpKind::LayerNormalization: return layer_norm_gradient(b, n, dy);
    case OpKind::Gather: return gather_gradient(b, n, dy);
    case OpKind::Slice: return slice_gradient(b, n, dy);
    case OpKind::Dropout: return dropout_gradient(b, n, dy);
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceSumSquare:
    case OpKind::ReduceL1:
    case OpKind::ReduceL2:
    case OpKind::ReduceLogSum:
    case OpKind::ReduceLogSumExp:
    case OpKind::ReduceProd:
    case OpKind::ReduceMax:
    case OpKind::ReduceMin: return reduction_gradient(b, n, dy);
    default: return std::nullopt;
  }
}

}  // namespace nnc
