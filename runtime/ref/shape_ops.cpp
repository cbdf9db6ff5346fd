// Reference kernels for shape and data-movement ops, following ONNX semantics up to opset 17.
// They only move elements, so each works for every dtype (strings and bool included) through
// ElementCopier. Ops whose parameters moved from attributes to inputs across opsets (Reshape,
// Squeeze, Unsqueeze, Split, Slice, Pad) accept both forms: the attribute wins when present.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
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

// Calls f(index, flat) for every multi-index of `shape`, in row-major order.
template <class F>
void for_each_index(const Shape& shape, F&& f) {
  int64_t n = checked_numel(shape, "shape " + shape_str(shape));
  Shape idx(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(static_cast<const Shape&>(idx), flat);
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p = checked_mul(p, s[i], "shape " + shape_str(s));
  return p;
}

// The values of integer input i (a shape, axes, pads, ...).
std::vector<int64_t> int_input(const KernelContext& ctx, size_t i, const std::string& what) {
  const Tensor& t = ctx.in(i);
  ctx.require(is_integer(t.dtype()), what + " must be an integer tensor, got " + dtype_name(t.dtype()));
  return t.to_int64s();
}

// The integer list from attribute `name` when present, else from input i (when given).
std::optional<std::vector<int64_t>> ints_attr_or_input(const KernelContext& ctx, const std::string& name, size_t i) {
  if (ctx.attrs().has(name)) return ctx.attrs().get_ints(name);
  if (ctx.has_input(i)) return int_input(ctx, i, name);
  return std::nullopt;
}

// Normalises a list of axes against `rank`, failing on duplicates.
std::vector<int64_t> normalize_axes(const KernelContext& ctx, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    int64_t n = normalize_axis(ctx, a, rank);
    ctx.require(std::find(out.begin(), out.end(), n) == out.end(), "axis " + std::to_string(a) + " is repeated");
    out.push_back(n);
  }
  return out;
}

bool contains(const std::vector<int64_t>& v, int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

Tensor transpose(const KernelContext& ctx, const Tensor& x, const std::vector<int64_t>& perm) {
  ctx.require(static_cast<int>(perm.size()) == x.rank(),
              "perm has " + std::to_string(perm.size()) + " entries for a rank-" + std::to_string(x.rank()) + " input");
  Shape out_shape(perm.size());
  std::vector<bool> seen(perm.size(), false);
  for (size_t i = 0; i < perm.size(); ++i) {
    int64_t p = perm[i];
    ctx.require(p >= 0 && p < x.rank() && !seen[p], "perm is not a permutation of the input axes");
    seen[p] = true;
    out_shape[i] = x.dim(static_cast<int>(p));
  }
  Shape in_strides = strides_of(x.shape());
  Tensor out(x.dtype(), out_shape);
  ElementCopier copy(x, out);
  for_each_index(out_shape, [&](const Shape& idx, int64_t flat) {
    int64_t src = 0;
    for (size_t i = 0; i < idx.size(); ++i) src += idx[i] * in_strides[perm[i]];
    copy(flat, src);
  });
  return out;
}

// Maps a padded coordinate back into [0, n) for the given mode; -1 means "use the constant".
int64_t pad_source_index(int64_t i, int64_t n, const std::string& mode) {
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  if (mode == "wrap") return ((i % n) + n) % n;
  // reflect: mirror about the first and last elements without repeating them (numpy's
  // "reflect"); pads longer than the axis keep reflecting, i.e. a period of 2(n-1).
  if (n == 1) return 0;
  int64_t period = 2 * (n - 1);
  int64_t m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

}  // namespace

Tensors ref_Reshape(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> spec = ctx.attrs().has("shape") ? ctx.attrs().get_ints("shape") : int_input(ctx, 1, "shape");
  bool allow_zero = ctx.attrs().get_int("allowzero", 0) != 0;
  Shape out(spec.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t v = spec[i];
    if (v == -1) {
      ctx.require(infer < 0, "shape has more than one -1");
      infer = static_cast<int>(i);
      continue;
    }
    if (v == 0 && !allow_zero) {
      ctx.require(static_cast<int>(i) < x.rank(), "shape entry " + std::to_string(i) + " is 0 (copy) but the input has rank " +
                                                      std::to_string(x.rank()));
      v = x.dim(static_cast<int>(i));
    }
    ctx.require(v >= 0, "shape has invalid entry " + std::to_string(v));
    out[i] = v;
    known = checked_mul(known, v, "reshape");
  }
  if (infer >= 0) {
    ctx.require(known != 0, "cannot infer the -1 dimension when the other dimensions multiply to 0");
    ctx.require(x.numel() % known == 0,
                "cannot reshape " + shape_str(x.shape()) + " to " + shape_str(Shape(spec.begin(), spec.end())));
    out[infer] = x.numel() / known;
    known *= out[infer];
  }
  ctx.require(known == x.numel(), "cannot reshape " + shape_str(x.shape()) + " (" + std::to_string(x.numel()) +
                                      " elements) to " + shape_str(out));
  return {x.reshaped(out)};
}

Tensors ref_Flatten(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t given = ctx.attrs().get_int("axis", 1);
  int64_t axis = given < 0 ? given + x.rank() : given;  // may equal the rank: [numel, 1]
  ctx.require(axis >= 0 && axis <= x.rank(),
              "axis " + std::to_string(given) + " is out of range for rank " + std::to_string(x.rank()));
  int64_t outer = product(x.shape(), 0, static_cast<size_t>(axis));
  int64_t inner = product(x.shape(), static_cast<size_t>(axis), x.shape().size());
  return {x.reshaped({outer, inner})};
}

Tensors ref_Transpose(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> perm(x.rank());
  for (int i = 0; i < x.rank(); ++i) perm[i] = x.rank() - 1 - i;  // default: reverse the axes
  if (ctx.attrs().has("perm")) perm = ctx.attrs().get_ints("perm");
  return {transpose(ctx, x, perm)};
}

Tensors ref_Squeeze(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> axes = ints_attr_or_input(ctx, "axes", 1).value_or(std::vector<int64_t>{});
  axes = normalize_axes(ctx, axes, x.rank());
  Shape out;
  for (int d = 0; d < x.rank(); ++d) {
    bool squeeze = axes.empty() ? x.dim(d) == 1 : contains(axes, d);
    if (squeeze && !axes.empty())
      ctx.require(x.dim(d) == 1, "cannot squeeze axis " + std::to_string(d) + " of size " + std::to_string(x.dim(d)));
    if (!squeeze) out.push_back(x.dim(d));
  }
  return {x.reshaped(out)};
}

Tensors ref_Unsqueeze(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto given = ints_attr_or_input(ctx, "axes", 1);
  ctx.require(given.has_value(), "axes are missing (neither attribute nor input)");
  int64_t out_rank = x.rank() + static_cast<int64_t>(given->size());
  std::vector<int64_t> axes = normalize_axes(ctx, *given, out_rank);
  Shape out;
  int next = 0;
  for (int64_t d = 0; d < out_rank; ++d) out.push_back(contains(axes, d) ? 1 : x.dim(next++));
  return {x.reshaped(out)};
}

Tensors ref_Concat(const KernelContext& ctx) {
  ctx.require(ctx.num_inputs() >= 1, "needs at least one input");
  const Tensor& first = ctx.in(0);
  ctx.require(first.rank() >= 1, "cannot concatenate scalars");
  // Concat-1 had an optional axis defaulting to 1; it is required from opset 4.
  ctx.require(ctx.attrs().has("axis") || ctx.opset < 4, "attribute 'axis' is missing");
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 1), first.rank());
  Shape out_shape = first.shape();
  out_shape[axis] = 0;
  for (size_t k = 0; k < ctx.num_inputs(); ++k) {
    const Tensor& t = ctx.in(k);
    ctx.require(t.dtype() == first.dtype(), "inputs have different element types");
    ctx.require(t.rank() == first.rank(), "inputs have different ranks");
    for (int d = 0; d < t.rank(); ++d)
      ctx.require(d == axis || t.dim(d) == first.dim(d),
                  "input shapes " + shape_str(first.shape()) + " and " + shape_str(t.shape()) + " differ off the axis");
    out_shape[axis] = checked_add(out_shape[axis], t.dim(static_cast<int>(axis)), "concat");
  }
  Tensor out(first.dtype(), out_shape);
  int64_t outer = product(out_shape, 0, axis);
  int64_t inner = product(out_shape, axis + 1, out_shape.size());
  int64_t out_row = out_shape[axis] * inner;
  int64_t offset = 0;  // where this input's rows start inside each output row
  for (size_t k = 0; k < ctx.num_inputs(); ++k) {
    const Tensor& t = ctx.in(k);
    int64_t row = t.dim(static_cast<int>(axis)) * inner;
    ElementCopier copy(t, out);
    for (int64_t o = 0; o < outer; ++o) copy(o * out_row + offset, o * row, row);
    offset += row;
  }
  return {out};
}

Tensors ref_Split(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  int64_t dim = x.dim(static_cast<int>(axis));
  auto n = static_cast<int64_t>(ctx.num_outputs());
  ctx.require(n >= 1, "needs at least one output");
  std::vector<int64_t> sizes = ints_attr_or_input(ctx, "split", 1).value_or(std::vector<int64_t>{});
  if (sizes.empty()) {
    // Equal parts; when the axis does not divide evenly the last part is smaller (opset 18's rule).
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0, left = dim; i < n; ++i, left -= std::min(chunk, left)) sizes.push_back(std::min(chunk, left));
  }
  ctx.require(static_cast<int64_t>(sizes.size()) == n, "split has " + std::to_string(sizes.size()) +
                                                            " sizes for " + std::to_string(n) + " outputs");
  int64_t total = 0;
  for (int64_t s : sizes) {
    ctx.require(s >= 0, "split sizes must be >= 0");
    total = checked_add(total, s, "split");
  }
  ctx.require(total == dim, "split sizes sum to " + std::to_string(total) + ", the axis has " + std::to_string(dim));
  int64_t outer = product(x.shape(), 0, axis);
  int64_t inner = product(x.shape(), axis + 1, x.shape().size());
  Tensors outs;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    Shape shape = x.shape();
    shape[axis] = s;
    Tensor out(x.dtype(), shape);
    ElementCopier copy(x, out);
    for (int64_t o = 0; o < outer; ++o) copy(o * s * inner, (o * dim + offset) * inner, s * inner);
    offset += s;
    outs.push_back(std::move(out));
  }
  return outs;
}

Tensors ref_Slice(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> starts, ends, axes, steps;
  bool attr_form = ctx.attrs().has("starts");  // Slice-1 keeps everything in attributes
  if (attr_form) {
    starts = ctx.attrs().get_ints("starts");
    ends = ctx.attrs().get_ints("ends");
    axes = ctx.attrs().get_ints("axes");
  } else {
    starts = int_input(ctx, 1, "starts");
    ends = int_input(ctx, 2, "ends");
    if (ctx.has_input(3)) axes = int_input(ctx, 3, "axes");
    if (ctx.has_input(4)) steps = int_input(ctx, 4, "steps");
  }
  bool default_axes = attr_form ? !ctx.attrs().has("axes") : !ctx.has_input(3);
  if (default_axes)
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (attr_form || !ctx.has_input(4)) steps.assign(starts.size(), 1);
  ctx.require(ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(),
              "starts, ends, axes and steps must have the same length");
  axes = normalize_axes(ctx, axes, x.rank());

  Shape start(x.rank(), 0), step(x.rank(), 1), out_shape = x.shape();
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i], dim = x.dim(static_cast<int>(a)), st = steps[i];
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
    // ceil((e - b) / st), at least 0; |e - b| <= dim + 1 so nothing overflows.
    int64_t count = st > 0 ? (e - b + st - 1) / st : (b - e + (-st) - 1) / (-st);
    out_shape[a] = dim == 0 ? 0 : std::max<int64_t>(count, 0);
    start[a] = b;
    step[a] = st;
  }
  Shape in_strides = strides_of(x.shape());
  Tensor out(x.dtype(), out_shape);
  ElementCopier copy(x, out);
  for_each_index(out_shape, [&](const Shape& idx, int64_t flat) {
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d) src += (start[d] + idx[d] * step[d]) * in_strides[d];
    copy(flat, src);
  });
  return {out};
}

Tensors ref_Expand(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> shape = int_input(ctx, 1, "shape");
  for (int64_t d : shape) ctx.require(d >= 0, "shape has negative entry " + std::to_string(d));
  Shape out_shape = broadcast_shapes(ctx, x.shape(), shape);
  Tensor out(x.dtype(), out_shape);
  ElementCopier copy(x, out);
  BroadcastMap map(x.shape(), out_shape);
  for (int64_t i = 0; i < out.numel(); ++i) copy(i, map(i));
  return {out};
}

Tensors ref_Tile(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> repeats = int_input(ctx, 1, "repeats");
  ctx.require(static_cast<int>(repeats.size()) == x.rank(), "repeats has " + std::to_string(repeats.size()) +
                                                                " entries for a rank-" + std::to_string(x.rank()) + " input");
  Shape out_shape(x.rank());
  for (int d = 0; d < x.rank(); ++d) {
    ctx.require(repeats[d] >= 0, "repeats must be >= 0");
    out_shape[d] = checked_mul(x.dim(d), repeats[d], "tile");
  }
  Shape in_strides = strides_of(x.shape());
  Tensor out(x.dtype(), out_shape);
  ElementCopier copy(x, out);
  for_each_index(out_shape, [&](const Shape& idx, int64_t flat) {
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d) src += (idx[d] % x.shape()[d]) * in_strides[d];
    copy(flat, src);
  });
  return {out};
}

Tensors ref_Pad(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::string mode = ctx.attrs().get_string("mode", "constant");
  ctx.require(mode == "constant" || mode == "reflect" || mode == "edge" || mode == "wrap", "unknown mode '" + mode + "'");
  Tensor fill(x.dtype(), {});  // the constant: 0, false or "" unless given
  std::vector<int64_t> pads, axes;
  if (ctx.attrs().has("pads") || ctx.attrs().has("paddings")) {  // Pad-1/2: attributes
    pads = ctx.attrs().get_ints(ctx.attrs().has("pads") ? "pads" : "paddings");
    if (x.dtype() != DType::String) fill.set_double(0, ctx.attrs().get_float("value", 0.0f));
  } else {
    pads = int_input(ctx, 1, "pads");
    if (ctx.has_input(2) && ctx.in(2).numel() > 0) {
      const Tensor& v = ctx.in(2);
      ctx.require(v.dtype() == x.dtype(), "constant_value type differs from the data type");
      ElementCopier(v, fill)(0, 0);
    }
    if (ctx.has_input(3)) axes = int_input(ctx, 3, "axes");  // opset 18
  }
  if (axes.empty())
    for (int d = 0; d < x.rank(); ++d) axes.push_back(d);
  axes = normalize_axes(ctx, axes, x.rank());
  ctx.require(pads.size() == 2 * axes.size(), "pads has " + std::to_string(pads.size()) + " entries, expected " +
                                                  std::to_string(2 * axes.size()));
  Shape begin(x.rank(), 0), out_shape = x.shape();
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i], b = pads[i], e = pads[i + axes.size()];
    constexpr int64_t kMaxPad = int64_t{1} << 40;  // larger pads could only overflow the sum below
    ctx.require(b > -kMaxPad && b < kMaxPad && e > -kMaxPad && e < kMaxPad, "pads are out of range");
    int64_t size = x.dim(static_cast<int>(a)) + b + e;
    ctx.require(size >= 0, "pads remove more than axis " + std::to_string(a) + " holds");
    ctx.require(mode == "constant" || size == 0 || x.dim(static_cast<int>(a)) > 0,
                "cannot " + mode + "-pad the empty axis " + std::to_string(a));
    begin[a] = b;
    out_shape[a] = size;
  }
  Shape in_strides = strides_of(x.shape());
  Tensor out(x.dtype(), out_shape);
  ElementCopier copy(x, out), copy_fill(fill, out);
  for_each_index(out_shape, [&](const Shape& idx, int64_t flat) {
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d) {
      int64_t i = pad_source_index(idx[d] - begin[d], x.shape()[d], mode);
      if (i < 0) return copy_fill(flat, 0);
      src += i * in_strides[d];
    }
    copy(flat, src);
  });
  return {out};
}

namespace {
// Checks a rank-4 NCHW input and a positive blocksize for DepthToSpace/SpaceToDepth.
int64_t check_block(const KernelContext& ctx, const Tensor& x) {
  ctx.require(x.rank() == 4, "input must have rank 4, got " + shape_str(x.shape()));
  int64_t b = ctx.attrs().get_int("blocksize", 0);
  ctx.require(b > 0, "blocksize must be positive");
  return b;
}
}  // namespace

Tensors ref_DepthToSpace(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t b = check_block(ctx, x);
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  ctx.require(c % (b * b) == 0, "channels " + std::to_string(c) + " are not divisible by blocksize^2");
  std::string mode = ctx.attrs().get_string("mode", "DCR");
  Tensor t;
  if (mode == "DCR") {  // depth is laid out as (block_row, block_col, channel)
    t = transpose(ctx, x.reshaped({n, b, b, c / (b * b), h, w}), {0, 3, 4, 1, 5, 2});
  } else if (mode == "CRD") {  // depth is laid out as (channel, block_row, block_col)
    t = transpose(ctx, x.reshaped({n, c / (b * b), b, b, h, w}), {0, 1, 4, 2, 5, 3});
  } else {
    ctx.fail("unknown mode '" + mode + "'");
  }
  return {t.reshaped({n, c / (b * b), h * b, w * b})};
}

Tensors ref_SpaceToDepth(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t b = check_block(ctx, x);
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  ctx.require(h % b == 0 && w % b == 0, "spatial size " + shape_str(x.shape()) + " is not divisible by blocksize");
  Tensor t = transpose(ctx, x.reshaped({n, c, h / b, b, w / b, b}), {0, 3, 5, 1, 2, 4});
  return {t.reshaped({n, c * b * b, h / b, w / b})};
}

Tensors ref_Trilu(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(x.rank() >= 2, "input must have rank >= 2");
  int64_t k = 0;
  if (ctx.has_input(1)) {
    std::vector<int64_t> kv = int_input(ctx, 1, "k");
    ctx.require(kv.size() == 1, "k must hold one value");
    k = kv[0];
  }
  bool upper = ctx.attrs().get_int("upper", 1) != 0;
  int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  Tensor out(x.dtype(), x.shape());  // zero-filled: only the kept triangle is copied
  ElementCopier copy(x, out);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t col = i % cols, row = (i / cols) % rows;
    bool keep = upper ? col - row >= k : col - row <= k;
    if (keep) copy(i, i);
  }
  return {out};
}

}  // namespace nnc
