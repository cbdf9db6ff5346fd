// Lowerings of the indexing ops (Gather, GatherElements, GatherND, OneHot, ReverseSequence, TopK)
// and of the tensor sources (EyeLike, Range, ConstantOfShape, Shape, Size).
// Indices and sequence lengths are read at run time. An out-of-range index fails the kernel
// with an error naming it, as the reference does (Halide::require); the index is also
// clamped, which tells bounds inference the kernel never reads outside the input.
#include <algorithm>
#include <cmath>

#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

namespace {

void require_indices(const LowerContext& ctx, const TensorFunc& t) {
  ctx.require(is_integer(t.dtype), std::string("indices must be integers, got ") + dtype_name(t.dtype));
}

// A run-time index into an axis of size dim: negative ones count from the end; one outside
// [-dim, dim) is an error. Called from output bodies only, which run for non-empty outputs.
Expr axis_index(const LowerContext& ctx, const Expr& raw, int64_t dim) {
  ctx.require(dim > 0, "indexes an empty axis");
  Expr v = Halide::cast(Halide::Int(64), raw);
  v = Halide::select(v < 0, v + Expr(dim), v);
  v = Halide::require(v >= Expr(int64_t{0}) && v < Expr(dim), v, "index", raw, "is out of range for an axis of size",
                      Expr(dim));
  return Halide::cast(Halide::Int(32), Halide::clamp(v, Expr(int64_t{0}), Expr(dim - 1)));
}

// The first value of constant input i (the reference reads scalars this way).
double const_scalar(LowerContext& ctx, size_t i) {
  std::vector<double> v = ctx.const_doubles(i);
  ctx.require(!v.empty(), "input " + std::to_string(i) + " is empty");
  return v[0];
}

}  // namespace

std::vector<TensorFunc> lower_Gather(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &ind = ctx.in(1);
  require_indices(ctx, ind);
  ctx.require(x.rank() >= 1, "data must have rank >= 1");
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  int q = ind.rank();
  // Output: data's dims before the axis, the indices' dims, data's dims after the axis.
  Shape shape(x.shape.begin(), x.shape.begin() + axis);
  shape.insert(shape.end(), ind.shape.begin(), ind.shape.end());
  shape.insert(shape.end(), x.shape.begin() + axis + 1, x.shape.end());
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    Exprs j(i.begin(), i.begin() + axis);
    j.push_back(axis_index(ctx, ind.at(Exprs(i.begin() + axis, i.begin() + axis + q)), x.shape[axis]));
    j.insert(j.end(), i.begin() + axis + q, i.end());
    return x.at(j);
  })};
}

std::vector<TensorFunc> lower_GatherElements(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &ind = ctx.in(1);
  require_indices(ctx, ind);
  ctx.require(x.rank() >= 1 && ind.rank() == x.rank(), "indices must have data's rank (>= 1)");
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  for (int d = 0; d < x.rank(); ++d)
    ctx.require(d == axis || ind.shape[d] <= x.shape[d], "indices shape exceeds data shape");
  return {define_output(ctx, 0, ind.shape, [&](const Exprs& i) {
    Exprs j = i;
    j[axis] = axis_index(ctx, ind.at(i), x.shape[axis]);
    return x.at(j);
  })};
}

std::vector<TensorFunc> lower_GatherND(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &ind = ctx.in(1);
  require_indices(ctx, ind);
  int64_t b = ctx.attrs().get_int("batch_dims", 0), r = x.rank(), q = ind.rank();
  ctx.require(r >= 1 && q >= 1, "data and indices must have rank >= 1");
  ctx.require(b >= 0 && b < std::min(r, q), "batch_dims must be in [0, min(rank(data), rank(indices)))");
  int64_t m = ind.shape.back();  // each index tuple addresses data's dims b .. b+m-1
  ctx.require(m >= 1 && m <= r - b, "indices' last dimension is out of range");
  for (int64_t d = 0; d < b; ++d) ctx.require(x.shape[d] == ind.shape[d], "batch dimensions differ");
  Shape shape(ind.shape.begin(), ind.shape.end() - 1);
  shape.insert(shape.end(), x.shape.begin() + b + m, x.shape.end());
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    Exprs tuple(i.begin(), i.begin() + q - 1), j(i.begin(), i.begin() + b);
    for (int64_t k = 0; k < m; ++k) {
      tuple.push_back(i32(k));
      j.push_back(axis_index(ctx, ind.at(tuple), x.shape[b + k]));
      tuple.pop_back();
    }
    j.insert(j.end(), i.begin() + q - 1, i.end());
    return x.at(j);
  })};
}

// depth comes from the inferred output shape; values [off, on] are read at run time. The
// comparison is done in double on the truncated index, as the reference does: an index out
// of [-depth, depth) (or NaN) gives an all-off row.
std::vector<TensorFunc> lower_OneHot(LowerContext& ctx) {
  const TensorFunc &ind = ctx.in(0), &values = ctx.in(2);
  ctx.require(values.rank() == 1 && values.shape[0] == 2, "values must be [off_value, on_value]");
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", -1), ind.rank() + 1);
  ctx.require(ctx.out_shape().size() == ind.shape.size() + 1, "output rank is not the indices' rank + 1");
  int64_t depth = ctx.out_shape()[axis];
  ctx.require(depth >= 1, "depth must be positive");
  Shape shape = ind.shape;
  shape.insert(shape.begin() + axis, depth);
  return {define_output(ctx, 0, shape, [&](const Exprs& i) {
    Exprs k = i;
    k.erase(k.begin() + axis);
    Expr v = Halide::trunc(Halide::cast(Halide::Float(64), ind.at(k)));
    Expr d = Expr(static_cast<double>(depth));
    Expr hot = Halide::select(v < 0, v + d, v);
    Expr on = v >= -d && v < d && hot == Halide::cast(Halide::Float(64), i[axis]);
    return Halide::select(on, values.at({i32(1)}), values.at({i32(0)}));
  })};
}

// Reverses the first sequence_lens[b] steps along time_axis of each batch entry b; lengths
// outside [0, steps] are clamped into it.
std::vector<TensorFunc> lower_ReverseSequence(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &lens = ctx.in(1);
  ctx.require(x.rank() >= 2, "input must have rank >= 2");
  ctx.require(is_integer(lens.dtype) && lens.rank() == 1, "sequence_lens must be a 1-D integer tensor");
  int64_t batch_axis = ctx.attrs().get_int("batch_axis", 1), time_axis = ctx.attrs().get_int("time_axis", 0);
  ctx.require((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0),
              "batch_axis and time_axis must be 0 and 1 in some order");
  ctx.require(lens.shape[0] == x.shape[batch_axis], "sequence_lens must have one entry per batch entry");
  int64_t steps = x.shape[time_axis];
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Expr len = Halide::cast(Halide::Int(64), lens.at({i[batch_axis]}));
    len = Halide::cast(Halide::Int(32), Halide::clamp(len, Expr(int64_t{0}), Expr(steps)));
    Expr t = i[time_axis];
    Exprs j = i;
    // The clamp only states the range (len - 1 - t is in it when t < len) for bounds inference.
    j[time_axis] = Halide::clamp(Halide::select(t < len, len - 1 - t, t), 0, i32(steps - 1));
    return x.at(j);
  })};
}

// Ones on the k-th diagonal of a matrix of the input's shape, in the output dtype.
std::vector<TensorFunc> lower_EyeLike(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(x.rank() == 2, "input must be 2-D");
  DType t = ctx.out_dtype();
  // Diagonals beyond the matrix are all zeros: clamping keeps k in int32.
  int64_t k = std::clamp<int64_t>(ctx.attrs().get_int("k", 0), -x.shape[0], x.shape[1]);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    return Halide::select(i[1] - i[0] == i32(k), from_double(t, Expr(1.0)), from_double(t, Expr(0.0)));
  })};
}

// start, limit and delta must be constants.
std::vector<TensorFunc> lower_Range(LowerContext& ctx) {
  DType t = ctx.out_dtype();
  ctx.require(is_integer(t) || is_float(t), std::string("cannot make a range of ") + dtype_name(t));
  double s = const_scalar(ctx, 0), limit = const_scalar(ctx, 1), delta = const_scalar(ctx, 2);
  ctx.require(delta != 0, "delta must not be zero");
  double count = std::ceil((limit - s) / delta);
  ctx.require(std::isfinite(count) && count < 2147483648.0, "the range is not finite or too long");
  int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  if (is_integer(t)) {
    // The reference computes start + i * delta in int64 and stores it through a double.
    ctx.require(std::abs(s) + static_cast<double>(n) * std::abs(delta) < 9007199254740992.0,
                "the range's values are not exact in double");
    auto si = static_cast<int64_t>(s), di = static_cast<int64_t>(delta);
    return {define_output(ctx, 0, {n}, [&](const Exprs& i) {
      return Halide::cast(Halide::Int(64), i[0]) * Expr(di) + Expr(si);
    })};
  }
  // The reference accumulates v += delta in the element type; so does this serial scan.
  Func acc(func_name(ctx.node.name + "_acc"));
  Var x("x");
  acc(x) = from_double(t, Expr(s));
  if (n > 1) {
    Halide::RDom r(1, static_cast<int>(n - 1));
    acc(r.x) = acc(r.x - 1) + from_double(t, Expr(delta));
  }
  acc.compute_root();
  return {define_output(ctx, 0, {n}, [&](const Exprs& i) { return acc(i[0]); })};
}

// The value attribute (one element, float32 0 by default) over the inferred shape.
std::vector<TensorFunc> lower_ConstantOfShape(LowerContext& ctx) {
  const Tensor* value = ctx.attrs().get_tensor("value");
  DType t = value ? value->dtype() : DType::Float32;
  halide_type(t);  // NotLowerable for strings and other types without compiled kernels
  ctx.require(!value || value->numel() == 1, "value must hold one element");
  ctx.require(t == ctx.out_dtype(), "output type differs from the value's");
  Expr v = from_double(t, Expr(value ? value->at_double(0) : 0.0));
  return {define_output(ctx, 0, ctx.out_shape(), [&](const Exprs&) { return v; })};
}

// The input's static dims start..end (negative ones count from the end, then clamped).
std::vector<TensorFunc> lower_Shape(LowerContext& ctx) {
  const Shape& s = ctx.in(0).shape;
  auto rank = static_cast<int64_t>(s.size());
  auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = clamp(ctx.attrs().get_int("start", 0));
  int64_t end = ctx.attrs().has("end") ? clamp(ctx.attrs().get_int("end", rank)) : rank;
  Shape dims(s.begin() + start, s.begin() + std::max(start, end));
  return {define_output(ctx, 0, {static_cast<int64_t>(dims.size())}, [&](const Exprs& i) {
    Expr e = Expr(dims.back());
    for (size_t k = dims.size() - 1; k-- > 0;)
      e = Halide::select(i[0] == i32(static_cast<int64_t>(k)), Expr(dims[k]), e);
    return e;
  })};
}

std::vector<TensorFunc> lower_Size(LowerContext& ctx) {
  int64_t n = numel_of(ctx.in(0).shape);
  return {define_output(ctx, 0, {}, [&](const Exprs&) { return Expr(n); })};
}

}  // namespace nnc::cpu

namespace nnc::cpu {

// TopK by ranks, as the reference orders them: NaN above every number, ties to the smaller
// index, always sorted. Each element's rank along the axis counts the elements ahead of it
// (O(n^2) per row: for the short rows TopK usually sees); output j is the element ranked j.
std::vector<TensorFunc> lower_TopK(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(x.rank() >= 1 && x.dtype != DType::Bool, "input must be a numeric tensor of rank >= 1");
  halide_type(x.dtype);
  const int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", -1), x.rank());
  const int64_t k = ctx.attrs().has("k") ? ctx.attrs().get_int("k", 0) : ctx.const_ints(1).at(0);
  const int64_t n = x.shape[axis];
  ctx.require(k >= 0 && k <= n && n < (int64_t{1} << 31), "k is out of range");
  const bool largest = ctx.attrs().get_int("largest", 1) != 0;
  auto value = [&](Exprs idx, Expr j) {
    idx[axis] = j;
    Expr v = x.at(idx);
    return v.type().is_float() && v.type().bits() == 16 ? Halide::cast<float>(v) : v;
  };
  auto is_nan = [](Expr v) { return v.type().is_float() ? Halide::is_nan(v) : Halide::Internal::const_false(); };
  auto less = [&](Expr a, Expr b) { return !is_nan(a) && (is_nan(b) || a < b); };
  TensorFunc rank = define(ctx.node.name + "_rank", x.shape, DType::Int32, [&](const Exprs& idx) {
    Halide::RDom i(0, i32(n));
    Expr a = value(idx, i), b = value(idx, idx[axis]);
    Expr ahead = largest ? less(b, a) : less(a, b);
    Expr equal = !less(a, b) && !less(b, a);
    return Halide::sum(Halide::select(ahead || (equal && i < idx[axis]), 1, 0));
  });
  rank.f.compute_root();
  Shape out = x.shape;
  out[axis] = k;
  // The index of the element ranked idx[axis] (the clamp bounds the data-dependent load).
  auto ranked = [&](const Exprs& idx) {
    Halide::RDom j(0, i32(n));
    Exprs at = idx;
    at[axis] = j;
    return Halide::clamp(Halide::sum(Halide::select(rank.at(at) == idx[axis], j, 0)), 0, i32(n - 1));
  };
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
            Exprs at = i;
            at[axis] = ranked(i);
            return x.at(at);
          }),
          define_output(ctx, 1, out, [&](const Exprs& i) { return Halide::cast<int64_t>(ranked(i)); })};
}

}  // namespace nnc::cpu
