// Lowerings of the pooling ops: MaxPool (with its Indices output), AveragePool and the
// global pools, over any number of spatial axes, following runtime/ref/pool.cpp: the same
// window geometry (auto_pad, pads, ceil_mode, dilations), NaN-propagating maxima, averages
// accumulated in double over the in-range taps (or the padded window with count_include_pad).
#include <algorithm>
#include <limits>

#include "codegen/cpu/halide_math.h"
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

// Attribute values (and sizes) beyond this fall back: window arithmetic stays within int32.
constexpr int64_t kMaxExtent = int64_t{1} << 28;

struct PoolGeometry {
  Shape in, kernel, out;  // spatial sizes
  std::vector<int64_t> strides, dilations, pad_begin, pad_end;
};

std::vector<int64_t> axis_ints(const LowerContext& ctx, const char* name, size_t n, int64_t def, int64_t min) {
  std::vector<int64_t> v = ctx.attrs().get_ints(name, std::vector<int64_t>(n, def));
  ctx.require(v.size() == n, std::string(name) + " has the wrong number of entries");
  for (int64_t x : v) ctx.require(x >= min && x <= kMaxExtent, std::string(name) + " value out of range");
  return v;
}

// The reference's pool_geometry, with its checks turned into fallbacks.
PoolGeometry pool_geometry(const LowerContext& ctx, const Shape& x) {
  ctx.require(x.size() >= 3, "input must have rank >= 3");
  const size_t n = x.size() - 2;
  PoolGeometry g;
  g.in.assign(x.begin() + 2, x.end());
  for (int64_t d : g.in) ctx.require(d <= kMaxExtent, "spatial size too large");
  ctx.require(ctx.attrs().has("kernel_shape"), "kernel_shape is required");
  g.kernel = axis_ints(ctx, "kernel_shape", n, 1, 1);
  g.strides = axis_ints(ctx, "strides", n, 1, 1);
  g.dilations = axis_ints(ctx, "dilations", n, 1, 1);
  const bool ceil_mode = ctx.attrs().get_int("ceil_mode", 0) != 0;
  std::string auto_pad = ctx.attrs().get_string("auto_pad", "NOTSET");
  if (auto_pad.empty()) auto_pad = "NOTSET";
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  ctx.require(same || auto_pad == "NOTSET" || auto_pad == "VALID", "unknown auto_pad " + auto_pad);
  std::vector<int64_t> pads(2 * n, 0);
  if (auto_pad == "NOTSET") pads = axis_ints(ctx, "pads", 2 * n, 0, 0);
  g.out.resize(n);
  g.pad_begin.resize(n);
  g.pad_end.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t ek = (g.kernel[i] - 1) * g.dilations[i] + 1, s = g.strides[i];
    ctx.require(ek <= kMaxExtent, "effective kernel too large");
    if (same) {
      g.out[i] = g.in[i] / s + (g.in[i] % s != 0);
      int64_t total = std::max<int64_t>(0, std::max<int64_t>(g.out[i] - 1, 0) * s + ek - g.in[i]);
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
    } else {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[i + n];
      int64_t padded = g.in[i] + pads[i] + pads[i + n];
      ctx.require(padded >= ek, "kernel larger than the padded input");
      g.out[i] = (padded - ek) / s + (ceil_mode && (padded - ek) % s != 0) + 1;
    }
  }
  return g;
}

Shape pooled_shape(const LowerContext& ctx, const Shape& x, const PoolGeometry& g) {
  Shape s{x[0], x[1]};
  s.insert(s.end(), g.out.begin(), g.out.end());
  // Output windows over an empty input would have nothing to clamp their reads to.
  ctx.require(numel_of(x) > 0 || numel_of(s) == 0, "pooling an empty input");
  return s;
}

// How many kernel taps of output coordinate o on spatial axis i land in [lo, hi].
Expr taps_within(const PoolGeometry& g, size_t i, Expr o, int64_t lo, int64_t hi) {
  Expr start = o * i32(g.strides[i]) - i32(g.pad_begin[i]);
  const int d = static_cast<int>(g.dilations[i]);
  Expr k_lo = Halide::max(0, (i32(lo) - start + (d - 1)) / d);  // ceil; Halide's / floors
  Expr k_hi = Halide::min(i32(g.kernel[i]) - 1, (i32(hi) - start) / d);
  return Halide::max(0, k_hi - k_lo + 1);
}

// One kernel tap of output index `out`: the clamped input index and whether it is in range.
struct Tap {
  Exprs index;
  Expr valid;
};

// The RDom over the kernel (innermost spatial axis first: taps visited in row-major order).
Halide::RDom kernel_domain(const PoolGeometry& g) {
  Halide::Region region;
  for (size_t i = g.kernel.size(); i-- > 0;) region.emplace_back(0, i32(g.kernel[i]));
  return Halide::RDom(region);
}

Tap tap_at(const PoolGeometry& g, const Halide::RDom& r, const Exprs& out) {
  const size_t n = g.kernel.size();
  Tap t{{out[0], out[1]}, Halide::cast(Halide::Bool(), true)};
  for (size_t i = 0; i < n; ++i) {
    Expr k = r[static_cast<int>(n - 1 - i)];
    Expr pos = out[2 + i] * i32(g.strides[i]) - i32(g.pad_begin[i]) + k * i32(g.dilations[i]);
    const int last = static_cast<int>(g.in[i]) - 1;
    t.index.push_back(Halide::clamp(pos, 0, last));
    t.valid = t.valid && pos >= 0 && pos <= last;
  }
  return t;
}

// The value the reference gives a window with no in-range taps: the type's lowest finite value.
Expr lowest_finite(DType t) {
  if (t == DType::Float32) return Expr(std::numeric_limits<float>::lowest());
  if (t == DType::Float64) return Expr(std::numeric_limits<double>::lowest());
  return lowest_value(t);
}

// MaxPool's output at index i: the pooled maximum, or the lowest finite value for a window
// wholly in the padding (as the reference gives it).
Expr pooled_or_lowest(const PoolGeometry& g, const TensorFunc& pooled, const Exprs& i) {
  Expr nonempty = Halide::cast(Halide::Bool(), true);
  for (size_t a = 0; a < g.kernel.size(); ++a) nonempty = nonempty && taps_within(g, a, i[2 + a], 0, g.in[a] - 1) > 0;
  return Halide::select(nonempty, pooled.at(i), lowest_finite(pooled.dtype));
}

// The mean of each row of float32 x [N, C, S] (an image's planes, flattened by the compiler:
// global_pool_reads_flat), in float32 as ONNX Runtime computes it: 16 lanes sum the row's
// whole vectors, then the lanes and the tail are added up. Measured on 2 threads against the
// generic reduction in double over the unflattened image: 56x56 planes 8x faster, 7x7 3.4x;
// efficientnet_b0's squeeze-and-excitation pools together 0.49 -> 0.12 ms.
TensorFunc row_means(LowerContext& ctx, const Shape& out) {
  const TensorFunc& x = ctx.in(0);
  const int S = static_cast<int>(x.shape[2]), whole = S / 16 * 16;  // checked by define_output
  Var l("l"), c("c"), n("n");
  Func lanes(func_name(ctx.node.name + "_lanes")), total(func_name(ctx.node.name + "_total"));
  lanes(l, c, n) = 0.0f;
  if (whole > 0) {
    Halide::RDom r(0, whole / 16, "r");
    lanes(l, c, n) += x.f(r * 16 + l, c, n);
  }
  Halide::RDom rl(0, 16, "rl");
  total(c, n) = 0.0f;
  total(c, n) += lanes(rl, c, n);
  if (whole < S) {
    Halide::RDom rt(whole, S - whole, "rt");
    total(c, n) += x.f(rt, c, n);
  }
  TensorFunc y = define_output(ctx, 0, out, [&](const Exprs& i) { return total(i[1], i[0]) / static_cast<float>(S); });
  const int rows = std::max(1, 16384 / S);  // about 16K inputs per task
  ctx.schedule = [lanes, total, rows](Func o, const Shape&) mutable {
    Var oc = o.args()[1], on = o.args()[2], task("task"), row("row");
    o.fuse(oc, on, task).split(task, task, row, rows, Halide::TailStrategy::GuardWithIf).parallel(task);
    lanes.compute_at(o, row).vectorize(lanes.args()[0]);
    if (lanes.num_update_definitions() > 0) lanes.update().vectorize(lanes.args()[0]);
    total.compute_at(o, row);
  };
  return y;
}

// Global pooling: [N, C, D1..Dn] reduced over the spatial axes to [N, C, 1..1].
std::vector<TensorFunc> global_pool(LowerContext& ctx, bool is_max) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(x.rank() >= 2, "input must have rank >= 2");
  std::vector<bool> spatial(x.shape.size(), false);
  Shape out = x.shape;
  for (size_t k = 2; k < out.size(); ++k) spatial[k] = true, out[k] = 1;
  const int64_t size = numel_of(Shape(x.shape.begin() + 2, x.shape.end()));
  ctx.require(size > 0 || numel_of(out) == 0, "pooling an empty spatial extent");
  const std::string& name = ctx.node.name;
  if (is_max) {
    ctx.require(x.dtype != DType::Bool, "bool max pooling");
    TensorFunc best = reduce_groups(name + "_max", x.shape, spatial, x.dtype, lowest_value(x.dtype),
                                    [&](Expr acc, const Exprs& e) { return hm::max_nan(acc, x.at(e)); });
    return {define_output(ctx, 0, out, [&](const Exprs& i) { return best.at(i); })};
  }
  if (x.dtype == DType::Float32 && x.rank() == 3 && size > 0) return {row_means(ctx, out)};
  Halide::Type d = Halide::Float(64);
  TensorFunc sum = reduce_groups(name + "_sum", x.shape, spatial, DType::Float64, Expr(0.0),
                                 [&](Expr acc, const Exprs& e) { return acc + Halide::cast(d, x.at(e)); });
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    return from_double(ctx.out_dtype(), sum.at(i) / Expr(static_cast<double>(size)));
  })};
}

}  // namespace

namespace {

Expr nan_of(const Expr& e) { return e.type().is_float() ? Halide::is_nan(e) : Halide::Internal::const_false(); }

// MaxPool with its Indices output: the first maximum in row-major window order (NaN wins),
// as an offset into the whole input with the spatial axes row- or column-major
// (storage_order); -1 for a window wholly in the padding.
std::vector<TensorFunc> max_pool_with_indices(LowerContext& ctx, const PoolGeometry& g, const Shape& out, bool column_major) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(halide_type(x.dtype).bits() > 16 || !is_float(x.dtype), "half-precision max pooling with indices");
  const size_t n = g.kernel.size();
  std::vector<Var> v = onnx_vars(static_cast<int>(out.size()), "p");
  std::vector<Var> args(v.rbegin(), v.rend());
  Halide::RDom r = kernel_domain(g);
  Tap t = tap_at(g, r, Exprs(v.begin(), v.end()));
  const int64_t in_sp = numel_of(Shape(x.shape.begin() + 2, x.shape.end()));
  Expr offset = (Halide::cast<int64_t>(v[0]) * Expr(x.shape[1]) + v[1]) * Expr(in_sp);
  int64_t stride = 1;
  for (size_t k = 0; k < n; ++k) {  // the spatial index in the Indices' order
    size_t axis = column_major ? k : n - 1 - k;
    offset = offset + Halide::cast<int64_t>(t.index[2 + axis]) * Expr(stride);
    stride *= g.in[axis];
  }
  Func best(func_name(ctx.node.name + "_argmax"));
  best(args) = {lowest_finite(x.dtype), Expr(int64_t{-1})};
  Expr value = x.at(t.index), old = best(args)[0];
  Expr take = t.valid && (best(args)[1] < 0 || (!nan_of(old) && (value > old || nan_of(value))));
  best(args) = {Halide::select(take, value, old), Halide::select(take, offset, best(args)[1])};
  schedule_root(best, out, numel_of(out) * numel_of(g.kernel));
  return {define_output(ctx, 0, out, [&](const Exprs& i) { return best(Exprs(i.rbegin(), i.rend()))[0]; }),
          define_output(ctx, 1, out, [&](const Exprs& i) { return best(Exprs(i.rbegin(), i.rend()))[1]; })};
}

// 2-D MaxPool without dilation, in two passes over each plane: the maximum along each row's
// windows, then down the columns of that (2 x k taps per output instead of k x k). A tap
// outside the input reads the nearest edge element instead, which lies in the same window
// whenever the window holds an input element at all, so the maximum is unchanged and the
// reads stay dense vectors. Measured about 5x faster than per-output windows on resnet's 3x3
// stride-2 pool (0.78 -> 0.16 ms, 1 thread). Windows wholly in the padding are set after.
std::vector<TensorFunc> max_pool_2d_separable(LowerContext& ctx, const PoolGeometry& g, const Shape& out) {
  const TensorFunc& x = ctx.in(0);
  Var ox("ox"), oy("oy"), iy("iy"), c("c"), n("n");
  auto clamped = [&](Expr o, size_t axis, int64_t k) {
    return Halide::clamp(o * i32(g.strides[axis]) - i32(g.pad_begin[axis]) + i32(k), 0, i32(g.in[axis] - 1));
  };
  Func rows(func_name(ctx.node.name + "_rowmax"));
  Expr r = x.f(clamped(ox, 1, 0), iy, c, n);
  for (int64_t k = 1; k < g.kernel[1]; ++k) r = hm::max_nan(r, x.f(clamped(ox, 1, k), iy, c, n));
  rows(ox, iy, c, n) = r;
  Expr m = rows(ox, clamped(oy, 0, 0), c, n);
  for (int64_t k = 1; k < g.kernel[0]; ++k) m = hm::max_nan(m, rows(ox, clamped(oy, 0, k), c, n));
  Func best(func_name(ctx.node.name + "_max"));
  best(ox, oy, c, n) = m;
  TensorFunc pooled{best, out, x.dtype};
  TensorFunc y = define_output(ctx, 0, out, [&](const Exprs& i) { return pooled_or_lowest(g, pooled, i); });
  const int vec = static_cast<int>(16 * 4 / halide_type(x.dtype).bytes());
  ctx.schedule = [rows, vec](Func f, const Shape&) mutable {
    Var fx = f.args()[0], fc = f.args()[2], fn = f.args()[3], plane("plane");
    // Stride-2 vectors predicated at the row's end: shifted inwards they hit a Halide 14
    // codegen fault (see the depthwise convolutions).
    f.fuse(fc, fn, plane).parallel(plane).vectorize(fx, vec, Halide::TailStrategy::GuardWithIf);
    rows.compute_at(f, plane).vectorize(rows.args()[0], vec, Halide::TailStrategy::GuardWithIf);
  };
  return {y};
}

}  // namespace

std::vector<TensorFunc> lower_MaxPool(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(x.dtype != DType::Bool, "bool max pooling");
  const int64_t order = ctx.attrs().get_int("storage_order", 0);
  ctx.require(order == 0 || order == 1, "storage_order must be 0 or 1");
  PoolGeometry g = pool_geometry(ctx, x.shape);
  Shape out = pooled_shape(ctx, x.shape, g);
  if (ctx.num_outputs() > 1 && !ctx.omitted(1)) return max_pool_with_indices(ctx, g, out, order == 1);
  if (g.kernel.size() == 2 && g.dilations[0] == 1 && g.dilations[1] == 1) return max_pool_2d_separable(ctx, g, out);
  std::vector<Var> v = onnx_vars(static_cast<int>(out.size()), "p");
  std::vector<Var> args(v.rbegin(), v.rend());
  Halide::RDom r = kernel_domain(g);
  Tap t = tap_at(g, r, Exprs(v.begin(), v.end()));
  // An update Func, not Halide::maximum, for the reference's NaN propagation.
  Func best(func_name(ctx.node.name + "_max"));
  best(args) = lowest_value(x.dtype);
  best(args) = Halide::select(t.valid, hm::max_nan(best(args), x.at(t.index)), best(args));
  schedule_root(best, out, numel_of(out) * numel_of(g.kernel));
  TensorFunc pooled{best, out, x.dtype};
  return {define_output(ctx, 0, out, [&](const Exprs& i) { return pooled_or_lowest(g, pooled, i); })};
}

std::vector<TensorFunc> lower_AveragePool(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  halide_type(x.dtype);
  const bool count_include_pad = ctx.attrs().get_int("count_include_pad", 0) != 0;
  PoolGeometry g = pool_geometry(ctx, x.shape);
  Shape out = pooled_shape(ctx, x.shape, g);
  const size_t n = g.kernel.size();
  Halide::Type d = Halide::Float(64);
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    Halide::RDom r = kernel_domain(g);
    Tap t = tap_at(g, r, i);
    // Adding 0 for the out-of-range taps leaves the sum of the in-range ones unchanged.
    Expr sum = Halide::sum(r, Halide::select(t.valid, Halide::cast(d, x.at(t.index)), Expr(0.0)));
    Expr count = Expr(1.0);
    for (size_t a = 0; a < n; ++a) {
      Expr taps = count_include_pad ? taps_within(g, a, i[2 + a], -g.pad_begin[a], g.in[a] + g.pad_end[a] - 1)
                                    : taps_within(g, a, i[2 + a], 0, g.in[a] - 1);
      count = count * Halide::cast(d, taps);
    }
    return from_double(ctx.out_dtype(), sum / count);
  })};
}

bool global_pool_reads_flat(const Node& n, const Shape& x, DType t) {
  return n.op == OpKind::GlobalAveragePool && t == DType::Float32 && x.size() == 4;
}

std::vector<TensorFunc> lower_GlobalAveragePool(LowerContext& ctx) { return global_pool(ctx, false); }
std::vector<TensorFunc> lower_GlobalMaxPool(LowerContext& ctx) { return global_pool(ctx, true); }

}  // namespace nnc::cpu
