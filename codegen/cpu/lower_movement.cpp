// Lowerings of the data-movement ops (Reshape and friends, Transpose, Concat, Split, Slice,
// Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Trilu): each output element is one input
// element (or a pad value), found by index arithmetic on static shapes. Output shapes come
// from shape inference (ctx.out_shape) and are checked against what the op's semantics give,
// so no input is ever read outside its bounds.
#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

namespace {

constexpr int64_t kInt32Limit = int64_t{1} << 31;

// The element count of s; NotLowerable unless every index into s fits int32.
int64_t checked_size(const LowerContext& ctx, const Shape& s) {
  int64_t n = 1, reach = 1;  // reach ignores zero dims: their strides still count
  for (int64_t d : s) {
    ctx.require(d < kInt32Limit, "dimension " + std::to_string(d) + " does not fit int32");
    reach *= std::max<int64_t>(d, 1);
    ctx.require(reach < kInt32Limit, "shape " + shape_str(s) + " has more elements than int32 indexes");
    n *= d;
  }
  return n;
}

// The row-major flat index of idx within dims, and its inverse.
Expr flatten(const Shape& dims, const Exprs& idx) {
  Expr flat = i32(0);
  for (size_t d = 0; d < dims.size(); ++d) flat = flat * i32(dims[d]) + idx[d];
  return flat;
}

Exprs unflatten(const Shape& dims, const Expr& flat) {
  Exprs idx(dims.size());
  int64_t stride = 1;
  for (size_t d = dims.size(); d-- > 0;) {
    Expr q = flat / i32(stride);
    idx[d] = d == 0 ? q : q % i32(dims[d]);  // the outermost needs no remainder: flat < size
    stride *= dims[d];
  }
  return idx;
}

// The index into `in` of the element at index idx of `out`, the same elements in the same
// row-major order (a reshape; both non-empty). Dims are matched in the smallest groups of
// equal size, so inserting or removing 1s (Squeeze, Unsqueeze) costs no division.
Exprs reshape_index(const Shape& in, const Shape& out, const Exprs& idx) {
  Exprs r(in.size(), i32(0));
  size_t a = 0, b = 0;
  for (;;) {
    while (a < in.size() && in[a] == 1) ++a;
    while (b < out.size() && out[b] == 1) ++b;
    if (a == in.size() || b == out.size()) return r;
    size_t a1 = a + 1, b1 = b + 1;
    for (int64_t pin = in[a], pout = out[b]; pin != pout;) {
      if (pin < pout) pin *= in[a1++];
      else pout *= out[b1++];
    }
    Expr flat = flatten(Shape(out.begin() + b, out.begin() + b1), Exprs(idx.begin() + b, idx.begin() + b1));
    Exprs part = unflatten(Shape(in.begin() + a, in.begin() + a1), flat);
    std::copy(part.begin(), part.end(), r.begin() + a);
    a = a1, b = b1;
  }
}

// Reshape, Flatten, Squeeze and Unsqueeze only re-read the elements in the same order;
// shape inference has resolved 0, -1, allowzero and the axes (attribute or input).
std::vector<TensorFunc> lower_reindex(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  const Shape& out = ctx.out_shape();
  ctx.require(checked_size(ctx, x.shape) == checked_size(ctx, out), "element counts differ");
  return {define_output(ctx, 0, out, [&](const Exprs& i) { return x.at(reshape_index(x.shape, out, i)); })};
}

// The first element of a small input read at run time (a scalar or one-element tensor).
Expr first_element(const TensorFunc& t) { return t.at(Exprs(t.shape.size(), i32(0))); }

// Normalised axes (negative ones count from the end), NotLowerable on repeats.
std::vector<int64_t> normalize_axes(const LowerContext& ctx, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    int64_t n = normalize_axis(ctx, a, rank);
    ctx.require(n < rank, "a scalar has no axes");  // normalize_axis lets axis 0 of a scalar through
    ctx.require(std::find(out.begin(), out.end(), n) == out.end(), "axis " + std::to_string(a) + " is repeated");
    out.push_back(n);
  }
  return out;
}

// Depth-to-space block size of a rank-4 NCHW input.
int64_t block_size(const LowerContext& ctx, const TensorFunc& x) {
  ctx.require(x.rank() == 4, "input must have rank 4");
  checked_size(ctx, x.shape);
  int64_t b = ctx.attrs().get_int("blocksize", 0);
  ctx.require(b > 0 && b < kInt32Limit && b * b < kInt32Limit, "blocksize must be positive and fit int32 when squared");
  return b;
}

}  // namespace

TensorFunc define_output(LowerContext& ctx, size_t k, const Shape& shape,
                         const std::function<Expr(const Exprs&)>& body) {
  if (ctx.omitted(k)) return TensorFunc{};
  ctx.require(shape == ctx.out_shape(k), "output shape " + shape_str(shape) + " differs from the inferred " +
                                             shape_str(ctx.out_shape(k)));
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i)) checked_size(ctx, ctx.in(i).shape);
  std::string name = ctx.node.name + (ctx.num_outputs() > 1 ? "_" + std::to_string(k) : "");
  if (checked_size(ctx, shape) == 0) return define(name, shape, ctx.out_dtype(k), [](const Exprs&) { return i32(0); });
  return define(name, shape, ctx.out_dtype(k), body);
}

std::vector<TensorFunc> lower_Reshape(LowerContext& ctx) { return lower_reindex(ctx); }
std::vector<TensorFunc> lower_Flatten(LowerContext& ctx) { return lower_reindex(ctx); }
std::vector<TensorFunc> lower_Squeeze(LowerContext& ctx) { return lower_reindex(ctx); }
std::vector<TensorFunc> lower_Unsqueeze(LowerContext& ctx) { return lower_reindex(ctx); }

std::vector<TensorFunc> lower_Transpose(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  int r = x.rank();
  std::vector<int64_t> perm(r);
  for (int i = 0; i < r; ++i) perm[i] = r - 1 - i;  // default: reverse the axes
  if (ctx.attrs().has("perm")) perm = ctx.attrs().get_ints("perm");
  ctx.require(static_cast<int>(perm.size()) == r, "perm does not match the input rank");
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(r);
  std::iota(iota.begin(), iota.end(), 0);
  ctx.require(sorted == iota, "perm is not a permutation of the input axes");
  Shape shape(r);
  for (int k = 0; k < r; ++k) shape[k] = x.shape[perm[k]];
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    Exprs j(r);
    for (int k = 0; k < r; ++k) j[perm[k]] = i[k];
    return x.at(j);
  })};
}

std::vector<TensorFunc> lower_Concat(LowerContext& ctx) {
  // Concat-1 had an optional axis defaulting to 1; it is required from opset 4.
  ctx.require(ctx.attrs().has("axis") || ctx.opset < 4, "attribute 'axis' is missing");
  const TensorFunc& first = ctx.in(0);
  ctx.require(first.rank() >= 1, "cannot concatenate scalars");
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 1), first.rank());
  Shape shape = first.shape;
  std::vector<int64_t> offset;  // where each input starts along the axis
  shape[axis] = 0;
  for (size_t k = 0; k < ctx.num_inputs(); ++k) {
    const TensorFunc& t = ctx.in(k);
    ctx.require(t.dtype == first.dtype && t.rank() == first.rank(), "inputs differ in type or rank");
    for (int d = 0; d < t.rank(); ++d)
      ctx.require(d == axis || t.shape[d] == first.shape[d], "shapes differ off the axis");
    offset.push_back(shape[axis]);
    shape[axis] += t.shape[axis];
  }
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    // From the last input backwards: each earlier one wins below its end. Every input's
    // index is clamped into its own range, so bounds inference asks each for no more.
    Expr e;
    for (size_t k = ctx.num_inputs(); k-- > 0;) {
      int64_t n = ctx.in(k).shape[axis];
      if (n == 0) continue;
      Exprs j = i;
      j[axis] = Halide::clamp(i[axis] - i32(offset[k]), 0, i32(n - 1));
      Expr v = ctx.in(k).at(j);
      e = e.defined() ? Halide::select(i[axis] < i32(offset[k] + n), v, e) : v;
    }
    return e;
  })};
}

// The part sizes come from the inferred output shapes (split attribute or input, or equal parts).
std::vector<TensorFunc> lower_Split(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(x.rank() >= 1, "cannot split a scalar");
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  int64_t total = 0;
  for (size_t k = 0; k < ctx.num_outputs(); ++k) {
    ctx.require(ctx.out_shape(k).size() == x.shape.size(), "output rank differs from the input's");
    total += ctx.out_shape(k)[axis];
  }
  ctx.require(total == x.shape[axis], "split sizes do not add up to the axis");
  std::vector<TensorFunc> outs;
  int64_t offset = 0;
  for (size_t k = 0; k < ctx.num_outputs(); ++k) {
    Shape shape = x.shape;
    shape[axis] = ctx.out_shape(k)[axis];
    outs.push_back(define_output(ctx, k, shape, [&](const Exprs& i) {
      Exprs j = i;
      j[axis] = i[axis] + i32(offset);
      return x.at(j);
    }));
    offset += shape[axis];
  }
  return outs;
}

// starts/ends/axes/steps are attributes (Slice-1) or constant inputs.
std::vector<TensorFunc> lower_Slice(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  std::vector<int64_t> starts, ends, axes, steps;
  bool attr_form = ctx.attrs().has("starts");
  if (attr_form) {
    starts = ctx.attrs().get_ints("starts");
    ends = ctx.attrs().get_ints("ends");
    axes = ctx.attrs().get_ints("axes");
  } else {
    starts = ctx.const_ints(1);
    ends = ctx.const_ints(2);
    if (ctx.has_input(3)) axes = ctx.const_ints(3);
    if (ctx.has_input(4)) steps = ctx.const_ints(4);
  }
  bool default_axes = attr_form ? !ctx.attrs().has("axes") : !ctx.has_input(3);
  if (default_axes)
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (attr_form || !ctx.has_input(4)) steps.assign(starts.size(), 1);
  ctx.require(ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(),
              "starts, ends, axes and steps differ in length");
  axes = normalize_axes(ctx, axes, x.rank());
  Shape start(x.rank(), 0), step(x.rank(), 1), shape = x.shape;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i], dim = x.shape[a], st = steps[i];
    ctx.require(st != 0, "steps cannot be 0");
    int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (st > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      b = std::clamp<int64_t>(b, 0, std::max<int64_t>(dim - 1, 0));
      e = std::clamp<int64_t>(e, -1, dim - 1);
    }
    // |e - b| <= dim + 1 < 2^31, so a larger step takes one element just as this one does.
    int64_t s = std::clamp<int64_t>(st, -kInt32Limit, kInt32Limit);
    int64_t span = s > 0 ? e - b : b - e;
    shape[a] = dim == 0 || span <= 0 ? 0 : (span - 1) / std::abs(s) + 1;  // ceil(span / |s|)
    start[a] = b;
    step[a] = shape[a] > 1 ? s : 1;  // with two or more elements |s| < dim
  }
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    Exprs j(i.size());
    for (size_t d = 0; d < i.size(); ++d) j[d] = i32(start[d]) + i[d] * i32(step[d]);
    return x.at(j);
  })};
}

// The target shape comes from shape inference; x must broadcast to it.
std::vector<TensorFunc> lower_Expand(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  const Shape& out = ctx.out_shape();
  ctx.require(out.size() >= x.shape.size(), "the output rank is below the input's");
  size_t off = out.size() - x.shape.size();
  for (size_t d = 0; d < x.shape.size(); ++d)
    ctx.require(x.shape[d] == 1 || x.shape[d] == out[off + d], "the input does not broadcast to the output");
  return {define_output(ctx, 0, out, [&](const Exprs& i) { return broadcast_at(x, out, i); })};
}

// The repeats come from shape inference: each output dim must be a multiple of the input's.
std::vector<TensorFunc> lower_Tile(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  const Shape& out = ctx.out_shape();
  ctx.require(out.size() == x.shape.size(), "output rank differs from the input's");
  for (size_t d = 0; d < out.size(); ++d)
    ctx.require(x.shape[d] == 0 ? out[d] == 0 : out[d] % x.shape[d] == 0, "output is not a tiling of the input");
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    Exprs j(i.size());
    for (size_t d = 0; d < i.size(); ++d) j[d] = out[d] == x.shape[d] ? i[d] : i[d] % i32(x.shape[d]);
    return x.at(j);
  })};
}

// Modes constant, reflect, edge and wrap. pads (and opset 18's axes) are attributes (Pad-1/2)
// or constant inputs; the constant value is read at run time.
std::vector<TensorFunc> lower_Pad(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  std::string mode = ctx.attrs().get_string("mode", "constant");
  ctx.require(mode == "constant" || mode == "reflect" || mode == "edge" || mode == "wrap",
              "unknown mode '" + mode + "'");
  Expr fill = from_double(x.dtype, Expr(0.0));
  std::vector<int64_t> pads, axes;
  if (ctx.attrs().has("pads") || ctx.attrs().has("paddings")) {
    pads = ctx.attrs().get_ints(ctx.attrs().has("pads") ? "pads" : "paddings");
    fill = from_double(x.dtype, Expr(static_cast<double>(ctx.attrs().get_float("value", 0.0f))));
  } else {
    pads = ctx.const_ints(1);
    if (ctx.has_input(2) && checked_size(ctx, ctx.in(2).shape) > 0) {
      ctx.require(ctx.in(2).dtype == x.dtype, "constant_value type differs from the data type");
      fill = first_element(ctx.in(2));
    }
    if (ctx.has_input(3)) axes = ctx.const_ints(3);
  }
  if (axes.empty())
    for (int d = 0; d < x.rank(); ++d) axes.push_back(d);
  axes = normalize_axes(ctx, axes, x.rank());
  ctx.require(pads.size() == 2 * axes.size(), "pads has the wrong length");
  Shape begin(x.rank(), 0), shape = x.shape;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i], b = pads[i], e = pads[i + axes.size()];
    ctx.require(b > -kInt32Limit && b < kInt32Limit && e > -kInt32Limit && e < kInt32Limit, "pads do not fit int32");
    shape[a] = x.shape[a] + b + e;
    ctx.require(shape[a] >= 0, "pads remove more than the axis holds");
    ctx.require(mode == "constant" || shape[a] == 0 || x.shape[a] > 0, "cannot " + mode + "-pad an empty axis");
    begin[a] = b;
  }
  bool empty_input = checked_size(ctx, x.shape) == 0;
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    if (empty_input) return fill;  // constant mode: nothing to read
    Exprs j(i.size());
    Expr inside = Halide::Internal::const_true();
    for (size_t d = 0; d < i.size(); ++d) {
      int64_t n = x.shape[d];
      if (begin[d] == 0 && shape[d] == n) {
        j[d] = i[d];
        continue;
      }
      Expr k = i[d] - i32(begin[d]);  // the coordinate along the unpadded axis
      if (mode == "constant") {
        inside = inside && k >= 0 && k < i32(n);
        j[d] = Halide::clamp(k, 0, i32(n - 1));
      } else if (mode == "edge") {
        j[d] = Halide::clamp(k, 0, i32(n - 1));
      } else if (mode == "wrap") {
        j[d] = k % i32(n);  // Halide's % is Euclidean: in [0, n)
      } else if (n == 1) {
        j[d] = i32(0);
      } else {
        // reflect (numpy's): mirror without repeating the edge, period 2(n-1); the clamp
        // states the range for bounds inference.
        int64_t period = 2 * (n - 1);
        Expr m = k % i32(period);
        j[d] = Halide::clamp(Halide::select(m < i32(n), m, i32(period) - m), 0, i32(n - 1));
      }
    }
    return Halide::select(inside, x.at(j), fill);
  })};
}

std::vector<TensorFunc> lower_DepthToSpace(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  int64_t b = block_size(ctx, x);
  int64_t c = x.shape[1], h = x.shape[2], w = x.shape[3];
  ctx.require(c % (b * b) == 0, "channels are not divisible by blocksize^2");
  std::string mode = ctx.attrs().get_string("mode", "DCR");
  ctx.require(mode == "DCR" || mode == "CRD", "unknown mode '" + mode + "'");
  int64_t oc = c / (b * b);
  Shape shape{x.shape[0], oc, h * b, w * b};
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    Expr by = i[2] % i32(b), bx = i[3] % i32(b);
    // DCR: depth is laid out as (block_row, block_col, channel); CRD: (channel, block_row, block_col).
    Expr ch = mode == "DCR" ? (by * i32(b) + bx) * i32(oc) + i[1] : (i[1] * i32(b) + by) * i32(b) + bx;
    return x.at({i[0], ch, i[2] / i32(b), i[3] / i32(b)});
  })};
}

std::vector<TensorFunc> lower_SpaceToDepth(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  int64_t b = block_size(ctx, x);
  int64_t c = x.shape[1], h = x.shape[2], w = x.shape[3];
  ctx.require(h % b == 0 && w % b == 0, "spatial size is not divisible by blocksize");
  Shape shape{x.shape[0], c * b * b, h / b, w / b};
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    // Output depth is laid out as (block_row, block_col, channel).
    Expr by = i[1] / i32(b * c), bx = i[1] / i32(c) % i32(b), ch = i[1] % i32(c);
    return x.at({i[0], ch, i[2] * i32(b) + by, i[3] * i32(b) + bx});
  })};
}

// k (input 1) is read at run time.
std::vector<TensorFunc> lower_Trilu(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(x.rank() >= 2, "input must have rank >= 2");
  bool upper = ctx.attrs().get_int("upper", 1) != 0;
  if (ctx.has_input(1))
    ctx.require(is_integer(ctx.in(1).dtype) && checked_size(ctx, ctx.in(1).shape) == 1, "k must be one integer");
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Expr diag = Halide::cast(Halide::Int(64), i[x.rank() - 1] - i[x.rank() - 2]);  // col - row
    Expr k = ctx.has_input(1) ? Halide::cast(Halide::Int(64), first_element(ctx.in(1))) : Expr(int64_t{0});
    return Halide::select(upper ? diag >= k : diag <= k, x.at(i), from_double(x.dtype, Expr(0.0)));
  })};
}

}  // namespace nnc::cpu
