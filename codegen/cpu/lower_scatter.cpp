// Lowerings of ScatterElements and ScatterND, following runtime/ref/index_ops.cpp: the
// output starts as a copy of data, then a serial update visits the updates in row-major
// order (as the reference's pairs), so with repeated indices the last write wins and
// reductions (add, mul, max, min) apply in the same order. Indices are read at run time;
// where the reference reports one out of range as an error, the kernel clamps it into the
// axis (after normalising a negative one).
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

// A run-time index into an axis of size dim: negative ones count from the end, then clamped.
Expr axis_index(const Expr& raw, int64_t dim) {
  Expr v = Halide::cast(Halide::Int(64), raw);
  v = Halide::select(v < 0, v + Expr(dim), v);
  return Halide::cast(Halide::Int(32), Halide::clamp(v, Expr(int64_t{0}), Expr(dim - 1)));
}

// old (op)= update, in the element type: integers wrap around (through the unsigned type),
// bools or / and, max and min keep the old value unless the update compares greater / less.
Expr combine(const std::string& reduction, Expr old, Expr upd) {
  Halide::Type t = old.type();
  if (reduction == "none") return upd;
  if (reduction == "add" || reduction == "mul") {
    const bool add = reduction == "add";
    if (t.is_bool()) return add ? (old || upd) : (old && upd);
    if (t.is_int()) {
      Halide::Type u = t.with_code(Halide::Type::UInt);
      Expr a = Halide::cast(u, old), b = Halide::cast(u, upd);
      return Halide::cast(t, add ? a + b : a * b);
    }
    return add ? old + upd : old * upd;
  }
  Expr o = t.is_bool() ? Halide::cast(Halide::UInt(8), old) : old;
  Expr n = t.is_bool() ? Halide::cast(Halide::UInt(8), upd) : upd;
  return Halide::select(reduction == "max" ? n > o : n < o, upd, old);
}

// data with updates written at target(update index), visiting the updates in row-major order.
// The scattered Func is computed at root with its update left serial; the output reads it.
std::vector<TensorFunc> scatter(LowerContext& ctx, const std::function<Exprs(const Exprs&)>& target) {
  const TensorFunc &x = ctx.in(0), &upd = ctx.in(2);
  halide_type(x.dtype);
  ctx.require(upd.dtype == x.dtype, "updates type differs from the data type");
  const std::string reduction = ctx.attrs().get_string("reduction", "none");
  ctx.require(reduction == "none" || reduction == "add" || reduction == "mul" || reduction == "max" ||
                  reduction == "min",
              "unknown reduction '" + reduction + "'");
  std::vector<Var> v = onnx_vars(x.rank(), "s");
  TensorFunc out{Func(func_name(ctx.node.name + "_scattered")), x.shape, x.dtype};
  out.f(std::vector<Var>(v.rbegin(), v.rend())) = x.at(Exprs(v.begin(), v.end()));
  if (numel_of(upd.shape) > 0 && numel_of(x.shape) > 0) {
    Exprs u(upd.rank());
    if (upd.rank() > 0) {  // a scalar update (ScatterND of one full-rank index) needs no domain
      Halide::Region region;  // innermost (last ONNX) axis first: row-major visiting order
      for (int d = upd.rank() - 1; d >= 0; --d) region.emplace_back(0, i32(upd.shape[d]));
      Halide::RDom r(region);
      for (int d = 0; d < upd.rank(); ++d) u[d] = r[upd.rank() - 1 - d];
    }
    Exprs j = target(u);
    Exprs lhs(j.rbegin(), j.rend());
    out.f(lhs) = combine(reduction, out.at(j), upd.at(u));
  }
  out.f.compute_root();  // the copy (the pure stage) vectorises; the update stays serial
  if (x.rank() > 0 && x.shape.back() >= 8) out.f.vectorize(v.back(), 8, Halide::TailStrategy::GuardWithIf);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) { return out.at(i); })};
}

void require_indices(const LowerContext& ctx, const TensorFunc& t) {
  ctx.require(is_integer(t.dtype), std::string("indices must be integers, got ") + dtype_name(t.dtype));
}

}  // namespace

std::vector<TensorFunc> lower_ScatterElements(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &ind = ctx.in(1), &upd = ctx.in(2);
  require_indices(ctx, ind);
  ctx.require(x.rank() >= 1 && ind.rank() == x.rank(), "indices must have data's rank (>= 1)");
  ctx.require(upd.shape == ind.shape, "updates shape differs from indices shape");
  const int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  for (int d = 0; d < x.rank(); ++d)
    ctx.require(d == axis || ind.shape[d] <= x.shape[d], "indices shape exceeds data shape");
  ctx.require(x.shape[axis] > 0 || numel_of(ind.shape) == 0, "scatters into an empty axis");
  return scatter(ctx, [&](const Exprs& u) {
    Exprs j = u;
    j[axis] = axis_index(ind.at(u), x.shape[axis]);
    return j;
  });
}

// Each index tuple (the last axis of indices, k long) addresses a slice of data's trailing dims.
std::vector<TensorFunc> lower_ScatterND(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &ind = ctx.in(1), &upd = ctx.in(2);
  require_indices(ctx, ind);
  ctx.require(ind.rank() >= 1, "indices must have rank >= 1");
  const int64_t k = ind.shape.back(), q = ind.rank();
  ctx.require(k >= 0 && k <= x.rank(), "indices' last dimension exceeds the data rank");
  Shape expected(ind.shape.begin(), ind.shape.end() - 1);
  expected.insert(expected.end(), x.shape.begin() + k, x.shape.end());
  ctx.require(upd.shape == expected, "updates shape does not match indices and data");
  for (int64_t d = 0; d < k; ++d) ctx.require(x.shape[d] > 0 || numel_of(upd.shape) == 0, "scatters into an empty axis");
  return scatter(ctx, [&](const Exprs& u) {
    Exprs tuple(u.begin(), u.begin() + q - 1), j;
    for (int64_t d = 0; d < k; ++d) {
      tuple.push_back(i32(d));
      j.push_back(axis_index(ind.at(tuple), x.shape[d]));
      tuple.pop_back();
    }
    j.insert(j.end(), u.begin() + q - 1, u.end());
    return j;
  });
}

}  // namespace nnc::cpu
