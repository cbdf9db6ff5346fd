// Lowerings of the reductions (ReduceSum, ReduceMean, ...), generated from the NNC_REDUCE rows
// of ir/ops.def, and the grouped-reduction helpers the normalisation and pooling lowerings
// share. Like runtime/ref/reduce.cpp they accumulate in double, visiting each group in
// row-major order, and convert the result back as convert_scalar does.
#include <algorithm>
#include <cmath>

#include "codegen/cpu/halide_math.h"
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Exprs group_index(const std::vector<bool>& reduced, Exprs idx) {
  for (size_t k = 0; k < idx.size(); ++k)
    if (reduced[k]) idx[k] = 0;
  return idx;
}

TensorFunc reduce_groups(const std::string& name, const Shape& shape, const std::vector<bool>& reduced, DType acc,
                         Expr init, const GroupUpdate& update, const GroupFinish& finish) {
  const int rank = static_cast<int>(shape.size());
  Shape group_shape = shape;
  Halide::Region domain;  // innermost reduced axis first, so each group is visited in row-major order
  std::vector<int> domain_axes;
  for (int k = rank - 1; k >= 0; --k) {
    if (!reduced[k]) continue;
    group_shape[k] = 1;
    domain.emplace_back(0, static_cast<int>(shape[k]));
    domain_axes.push_back(k);
  }
  std::vector<Var> v = onnx_vars(rank, "g");
  std::vector<Var> args(v.rbegin(), v.rend());
  Exprs group(v.begin(), v.end());
  Halide::Type t = halide_type(acc);
  Func f(func_name(name));
  f(args) = Halide::cast(t, init);
  if (numel_of(shape) > 0) {  // with an empty axis every group stays at init (or is never read)
    Exprs element = group;
    if (!domain.empty()) {
      Halide::RDom r(domain);
      for (size_t j = 0; j < domain_axes.size(); ++j) element[domain_axes[j]] = r[static_cast<int>(j)];
    }
    f(args) = Halide::cast(t, update(f(args), element));
  }
  if (finish) f(args) = Halide::cast(t, finish(f(args), group));
  schedule_root(f, group_shape, numel_of(shape));
  return {f, group_shape, acc};
}

Var fuse_rows(Halide::Stage stage, const std::vector<Var>& outermost_first) {
  Var fused = outermost_first[0];
  for (size_t i = 1; i < outermost_first.size(); ++i) {
    Var next(fused.name() + "_" + std::to_string(i));
    stage.fuse(outermost_first[i], fused, next);
    fused = next;
  }
  return fused;
}

void schedule_root(Func f, const Shape& shape, int64_t work, int skip_axis) {
  f.compute_root();
  const int rank = static_cast<int>(shape.size());
  if (rank == 0) return;
  std::vector<Var> args = f.args();  // innermost first: args[k] is ONNX axis rank - 1 - k
  const bool vectorize = skip_axis != rank - 1 && shape.back() >= 8;
  std::vector<Var> outer;  // the other axes, outermost first
  for (int a = 0; a + 1 < rank; ++a)
    if (a != skip_axis) outer.push_back(args[rank - 1 - a]);
  const bool parallel = !outer.empty() && work >= kParallelWork;
  for (int s = 0; s <= f.num_update_definitions(); ++s) {
    Halide::Stage stage = s == 0 ? static_cast<Halide::Stage>(f) : f.update(s - 1);
    if (vectorize) stage.vectorize(args[0], 8, Halide::TailStrategy::GuardWithIf);
    if (!parallel) continue;
    Var fused = fuse_rows(stage, outer);
    // Tasks of several rows, ~kParallelWork of work each: one task per row made small rows
    // (a 14-wide pooled row) cost more in scheduling than in arithmetic.
    int64_t rows = 1;
    for (int a = 0; a + 1 < rank; ++a)
      if (a != skip_axis) rows *= shape[static_cast<size_t>(a)];
    int64_t per_row = std::max<int64_t>(1, work / std::max<int64_t>(rows, 1));
    int rows_per_task = static_cast<int>(std::clamp<int64_t>(kParallelWork / per_row, 1, 1 << 20));
    stage.parallel(fused, rows_per_task, Halide::TailStrategy::GuardWithIf);
  }
}

Expr from_double(DType t, Expr v) {
  Halide::Type h = halide_type(t);
  if (h.is_float()) return Halide::cast(h, v);
  if (h.is_bool()) return v != 0;
  Expr lo = h.min(), hi = h.max();
  Halide::Type d = Halide::Float(64);
  // Selects, not a clamp: the int64 maximum is no double, so clamping could still overflow.
  return Halide::select(Halide::is_nan(v), Halide::cast(h, 0), v <= Halide::cast(d, lo), lo,
                        v >= Halide::cast(d, hi), hi, Halide::cast(h, v));
}

namespace {

using namespace nnc::hm;

// The axes the node reduces: the "axes" attribute, else input 1 (ReduceSum from opset 13,
// the others from 18), else all of them unless noop_with_empty_axes.
std::vector<bool> reduced_axes(LowerContext& ctx, int64_t rank) {
  std::vector<int64_t> axes;
  bool axes_given = false;
  if (ctx.attrs().has("axes")) {
    axes = ctx.attrs().get_ints("axes");
    axes_given = true;
  } else if (ctx.has_input(1) || ctx.constant(1)) {
    axes = ctx.const_ints(1);
    axes_given = !axes.empty();
  }
  bool noop = ctx.attrs().get_int("noop_with_empty_axes", 0) != 0;
  std::vector<bool> reduced(static_cast<size_t>(rank), !axes_given && !noop);
  for (int64_t a : axes) {
    int64_t k = normalize_axis(ctx, a, rank);
    ctx.require(k < rank, "axis out of range");  // normalize_axis lets a scalar have axis 0
    reduced[k] = true;
  }
  return reduced;
}

template <class Map, class Combine, class Finish>
std::vector<TensorFunc> lower_reduce(LowerContext& ctx, double init, Map map, Combine combine, Finish finish) {
  const TensorFunc& x = ctx.in(0);
  std::vector<bool> reduced = reduced_axes(ctx, x.rank());
  bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  Shape out;
  int64_t n = 1;
  for (int k = 0; k < x.rank(); ++k) {
    if (!reduced[k]) {
      out.push_back(x.shape[k]);
      continue;
    }
    n *= x.shape[k];
    if (keepdims) out.push_back(1);
  }
  Halide::Type d = Halide::Float(64);
  TensorFunc acc = reduce_groups(ctx.node.name + "_acc", x.shape, reduced, DType::Float64, Expr(init),
                                 [&](Expr r, const Exprs& e) { return combine(r, map(Halide::cast(d, x.at(e)))); });
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    Exprs g;
    for (size_t k = 0, j = 0; k < reduced.size(); ++k) {
      if (!reduced[k]) {
        g.push_back(i[j++]);
      } else {
        g.push_back(0);
        if (keepdims) ++j;  // past the kept 1
      }
    }
    return from_double(ctx.out_dtype(), finish(acc.at(g), static_cast<double>(n)));
  })};
}

}  // namespace

#define NNC_OP(E, N, D, C)
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH)                                   \
  std::vector<TensorFunc> lower_##E(LowerContext& ctx) {                               \
    return lower_reduce(                                                               \
        ctx, static_cast<double>(INIT), [](Expr x) -> Expr { return MAP; },            \
        [](Expr r, Expr v) -> Expr { return COMBINE; },                                \
        [](Expr r, [[maybe_unused]] double n) -> Expr { return FINISH; });             \
  }
#include "ir/ops.def"

}  // namespace nnc::cpu
