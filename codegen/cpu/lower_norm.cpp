// Lowerings of the softmax family (Softmax, LogSoftmax, Hardmax), the normalisations
// (LayerNormalization, BatchNormalization in inference mode, InstanceNormalization, LRN,
// MeanVarianceNormalization), ArgMax/ArgMin and CumSum. Like the reference kernels
// (runtime/ref/norm.cpp) they compute in double, with per-group statistics (row max and sum,
// mean and variance) in root Funcs built by reduce_groups.
#include <algorithm>
#include <cmath>

#include "codegen/cpu/halide_math.h"
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

// Input 0 of a float-only op.
const TensorFunc& float_input(const LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  ctx.require(is_float(x.dtype), "needs a float input");
  halide_type(x.dtype);  // NotLowerable for float16 and bfloat16
  return x;
}

std::vector<bool> axes_from(int64_t rank, int64_t first) {
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t k = first; k < rank; ++k) reduced[k] = true;
  return reduced;
}

// The number of elements in each group.
int64_t group_size(const Shape& shape, const std::vector<bool>& reduced) {
  int64_t n = 1;
  for (size_t k = 0; k < shape.size(); ++k)
    if (reduced[k]) n *= shape[k];
  return n;
}

// The row-major offset of element `e` within its group (over the reduced axes only).
Expr offset_in_group(const Shape& shape, const std::vector<bool>& reduced, const Exprs& e) {
  Expr offset = 0;
  for (size_t k = 0; k < shape.size(); ++k)
    if (reduced[k]) offset = offset * i32(shape[k]) + e[k];
  return offset;
}

// The offset within its group of each group's first (or, with `last`, last) maximum (or
// minimum); a NaN counts as the extreme, as in the reference (numpy's argmax). Two passes:
// the extreme value, then where it is.
TensorFunc arg_extreme(const std::string& name, const TensorFunc& x, const std::vector<bool>& reduced, bool want_max,
                       bool last) {
  const bool is_bool = x.dtype == DType::Bool;
  auto value = [&](const Exprs& i) { return is_bool ? Halide::cast(Halide::UInt(8), x.at(i)) : x.at(i); };
  DType vt = is_bool ? DType::UInt8 : x.dtype;
  Expr init = want_max ? lowest_value(vt) : highest_value(vt);
  TensorFunc extreme = reduce_groups(name + "_ext", x.shape, reduced, vt, init, [&](Expr acc, const Exprs& e) {
    return want_max ? hm::max_nan(acc, value(e)) : hm::min_nan(acc, value(e));
  });
  return reduce_groups(name + "_pos", x.shape, reduced, DType::Int32, Expr(-1), [&](Expr acc, const Exprs& e) {
    Expr v = value(e), m = extreme.at(group_index(reduced, e));
    Expr hit = v == m || (hm::isnan(v) && hm::isnan(m));
    if (!last) hit = hit && acc < 0;
    return Halide::select(hit, offset_in_group(x.shape, reduced, e), acc);
  });
}

// Per-group mean, then `finish` of the sum of squared deviations from it: two passes, as
// the reference's mean_var takes them. finish gets the group size as a double Expr.
struct Moments {
  TensorFunc mean, spread;
};

Moments moments(const std::string& name, const TensorFunc& x, const std::vector<bool>& reduced,
                const std::function<Expr(Expr sq, Expr n, const Exprs& group)>& finish) {
  Expr n(static_cast<double>(group_size(x.shape, reduced)));
  TensorFunc mean = reduce_groups(
      name + "_mean", x.shape, reduced, DType::Float64, Expr(0.0),
      [&](Expr acc, const Exprs& e) { return acc + as_double(x.at(e)); },
      [&](Expr acc, const Exprs&) { return acc / n; });
  TensorFunc spread = reduce_groups(
      name + "_spread", x.shape, reduced, DType::Float64, Expr(0.0),
      [&](Expr acc, const Exprs& e) {
        Expr c = as_double(x.at(e)) - mean.at(group_index(reduced, e));
        return acc + c * c;
      },
      [&](Expr acc, const Exprs& g) { return finish(acc, n, g); });
  return {mean, spread};
}

// ---- softmax family ---------------------------------------------------------------------

// The axes each softmax runs over: `axis` from opset 13; before, all axes from `axis` on (the
// input coerced to 2-D), where axis == rank gives one-element rows.
std::vector<bool> softmax_axes(const LowerContext& ctx, const TensorFunc& x) {
  const int64_t r = x.rank();
  if (ctx.opset >= 13) {
    ctx.require(r >= 1, "input must have rank >= 1");
    std::vector<bool> reduced(static_cast<size_t>(r), false);
    reduced[normalize_axis(ctx, ctx.attrs().get_int("axis", -1), r)] = true;
    return reduced;
  }
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (axis < 0) axis += r;
  ctx.require(axis >= 0 && axis <= r, "axis out of range");
  return axes_from(r, axis);
}

// Each row's max and the sum of exp(x - max) (with log_sum: max + log(sum) instead).
struct RowStats {
  TensorFunc max, sum;
};

RowStats row_stats(const LowerContext& ctx, const TensorFunc& x, const std::vector<bool>& reduced, bool log_sum) {
  const std::string& name = ctx.node.name;
  TensorFunc m = reduce_groups(name + "_rowmax", x.shape, reduced, DType::Float64, Expr(-INFINITY),
                               [&](Expr acc, const Exprs& e) { return Halide::max(acc, as_double(x.at(e))); });
  GroupFinish lse = [&](Expr acc, const Exprs& g) { return m.at(g) + Halide::log(acc); };
  TensorFunc s = reduce_groups(
      name + "_rowsum", x.shape, reduced, DType::Float64, Expr(0.0),
      [&](Expr acc, const Exprs& e) { return acc + Halide::exp(as_double(x.at(e)) - m.at(group_index(reduced, e))); },
      log_sum ? lse : nullptr);
  return {m, s};
}

// Softmax (or LogSoftmax) of float32 rows along the last axis, in float32, in tasks of rows:
// each row's max and sum are taken while it is in L1. On transformer_encoder's [4, 128, 128]
// attention weights (2 threads): 0.45 ms in double precision through the generic reductions,
// 0.165 in float32 with a task per row, 0.025 so. Float32 sums of exponentials in [0, 1]
// stay within about 1e-6 of the double ones.
TensorFunc softmax_rows_f32(LowerContext& ctx, const TensorFunc& x, bool log) {
  Halide::RDom c(0, static_cast<int>(x.shape.back()), "c");
  std::vector<Var> v = onnx_vars(x.rank(), "s");
  std::vector<Var> hv(v.rbegin(), v.rend());  // Halide order: the row's element first
  std::vector<Var> row(hv.begin() + 1, hv.end());
  auto at = [&](Expr e) {
    Exprs i(v.begin(), v.end());
    i.back() = std::move(e);
    return x.at(i);
  };
  Func mx(func_name(ctx.node.name + "_rowmax")), ex(func_name(ctx.node.name + "_exp")),
      sum(func_name(ctx.node.name + "_rowsum"));
  mx(row) = Halide::maximum(at(c));
  ex(hv) = Halide::exp(at(hv[0]) - mx(row));
  Exprs ex_c{Expr(c)};
  ex_c.insert(ex_c.end(), row.begin(), row.end());
  sum(row) = Halide::sum(ex(ex_c));
  TensorFunc y = define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Exprs h(i.rbegin(), i.rend()), r(h.begin() + 1, h.end());
    if (log) return x.at(i) - mx(r) - Halide::log(sum(r));
    return ex(h) / sum(r);
  });
  ctx.schedule = [mx, ex, sum, log](Func out, const Shape& shape) mutable {
    std::vector<Var> a = out.args();
    out.vectorize(a[0], 16, Halide::TailStrategy::GuardWithIf);
    Halide::LoopLevel at_row = Halide::LoopLevel::root();
    if (a.size() > 1) {
      // Tasks of at least 4K elements: one 128-element row costs less than handing it out.
      Var row = fuse_rows(out, std::vector<Var>(a.rbegin(), a.rend() - 1)), task("task"), r("r");
      const int per_task = static_cast<int>(std::max<int64_t>(1, 4096 / std::max<int64_t>(1, shape.back())));
      out.split(row, task, r, per_task, Halide::TailStrategy::GuardWithIf);
      if (numel_of(shape) >= kParallelWork) out.parallel(task);
      at_row = Halide::LoopLevel(out, r);
    }
    mx.compute_at(at_row);
    sum.compute_at(at_row);
    if (!log) ex.compute_at(at_row).vectorize(ex.args()[0], 16, Halide::TailStrategy::GuardWithIf);
  };
  return y;
}

// Whether softmax_rows_f32 takes x: float32, reduced over its (non-empty) last axis alone.
bool rows_f32(const TensorFunc& x, const std::vector<bool>& reduced) {
  return x.dtype == DType::Float32 && x.shape.back() > 0 && reduced.back() &&
         std::count(reduced.begin(), reduced.end(), true) == 1;
}

}  // namespace

std::vector<TensorFunc> lower_Softmax(LowerContext& ctx) {
  const TensorFunc& x = float_input(ctx);
  std::vector<bool> reduced = softmax_axes(ctx, x);
  if (rows_f32(x, reduced)) return {softmax_rows_f32(ctx, x, false)};
  RowStats st = row_stats(ctx, x, reduced, false);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Exprs g = group_index(reduced, i);
    return Halide::exp(as_double(x.at(i)) - st.max.at(g)) / st.sum.at(g);
  })};
}

std::vector<TensorFunc> lower_LogSoftmax(LowerContext& ctx) {
  const TensorFunc& x = float_input(ctx);
  std::vector<bool> reduced = softmax_axes(ctx, x);
  if (rows_f32(x, reduced)) return {softmax_rows_f32(ctx, x, true)};
  RowStats st = row_stats(ctx, x, reduced, true);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    return as_double(x.at(i)) - st.sum.at(group_index(reduced, i));
  })};
}

std::vector<TensorFunc> lower_Hardmax(LowerContext& ctx) {
  const TensorFunc& x = float_input(ctx);
  std::vector<bool> reduced = softmax_axes(ctx, x);
  TensorFunc pos = arg_extreme(ctx.node.name, x, reduced, true, false);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    return Halide::select(offset_in_group(x.shape, reduced, i) == pos.at(group_index(reduced, i)), 1, 0);
  })};
}

// ---- normalisations ---------------------------------------------------------------------

std::vector<TensorFunc> lower_LayerNormalization(LowerContext& ctx) {
  const TensorFunc& x = float_input(ctx);
  const int64_t r = x.rank();
  int64_t axis = ctx.attrs().get_int("axis", -1);  // may equal the rank: nothing normalised
  if (axis < 0) axis += r;
  ctx.require(axis >= 0 && axis <= r, "axis out of range");
  const int64_t stash = ctx.attrs().get_int("stash_type", 1);
  ctx.require(stash > 0 && stash < 64 && is_valid_dtype(static_cast<int>(stash)) && is_float(static_cast<DType>(stash)),
              "stash_type is not a float type");
  ctx.require(ctx.num_outputs() <= 3, "too many outputs");
  const Expr eps(static_cast<double>(ctx.attrs().get_float("epsilon", 1e-5f)));
  const Shape norm(x.shape.begin() + axis, x.shape.end());
  std::vector<bool> reduced = axes_from(r, axis);
  // Scale and B hold one value per normalised element (read row-major, whatever their shape) or one.
  auto affine = [&](size_t input) {
    const TensorFunc& t = ctx.in(input);
    halide_type(t.dtype);
    ctx.require(numel_of(t.shape) == numel_of(norm) || numel_of(t.shape) == 1, "Scale or B does not fit the row");
    return [&t, &norm, axis](const Exprs& i) {
      Exprs in_row(i.begin() + axis, i.end());
      if (t.shape == norm) return as_double(t.at(in_row));
      Expr j = offset_in_group(norm, std::vector<bool>(norm.size(), true), in_row);
      Exprs ti(t.shape.size());
      for (size_t k = ti.size(); k-- > 0;) {
        ti[k] = j % i32(t.shape[k]);
        j = j / i32(t.shape[k]);
      }
      return as_double(t.at(ti));
    };
  };
  auto scale = affine(1);
  std::function<Expr(const Exprs&)> bias = [](const Exprs&) { return Expr(0.0); };
  if (ctx.has_input(2)) bias = affine(2);
  Moments mo = moments(ctx.node.name, x, reduced, [&](Expr sq, Expr n, const Exprs&) {
    return Expr(1.0) / Halide::sqrt(sq / n + eps);  // 1 / standard deviation
  });
  std::vector<TensorFunc> outs{define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Exprs g = group_index(reduced, i);
    return (as_double(x.at(i)) - mo.mean.at(g)) * mo.spread.at(g) * scale(i) + bias(i);
  })};
  // Mean and InvStdDev, in stash_type, shaped like X with the normalised axes 1.
  for (size_t k = 1; k < ctx.num_outputs(); ++k) {
    const TensorFunc& s = k == 1 ? mo.mean : mo.spread;
    ctx.require(ctx.omitted(k) || ctx.out_dtype(k) == static_cast<DType>(stash), "statistics output type differs from stash_type");
    outs.push_back(define_output(ctx, k, s.shape, [&](const Exprs& i) { return s.at(i); }));
  }
  return outs;
}

namespace {

// Training mode: normalised with the batch's mean and population variance per channel; the
// running statistics blend in the batch's with `momentum`; opsets < 14 also output the
// batch's (saved_mean, saved_var).
std::vector<TensorFunc> batch_norm_training(LowerContext& ctx, const TensorFunc& x) {
  ctx.require(x.rank() >= 2, "X must be [N, C, ...] in training mode");
  const int64_t channels = x.shape[1];
  for (size_t k = 1; k <= 4; ++k) {
    halide_type(ctx.in(k).dtype);
    ctx.require(ctx.in(k).shape == Shape{channels}, "scale, B, mean and var must have shape [C]");
  }
  const Expr eps(static_cast<double>(ctx.attrs().get_float("epsilon", 1e-5f)));
  const Expr momentum(static_cast<double>(ctx.attrs().get_float("momentum", 0.9f)));
  std::vector<bool> reduced(x.shape.size(), true);
  reduced[1] = false;
  Moments mo = moments(ctx.node.name, x, reduced, [](Expr sq, Expr n, const Exprs&) { return sq / n; });
  auto stat = [&](const TensorFunc& t, const Exprs& c) {  // a [C] index into a per-group Func
    Exprs g(x.shape.size(), Expr(0));
    g[1] = c[0];
    return t.at(g);
  };
  const TensorFunc &scale = ctx.in(1), &bias = ctx.in(2), &mean = ctx.in(3), &var = ctx.in(4);
  std::vector<TensorFunc> outs{define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Exprs g = group_index(reduced, i);
    Expr k = as_double(scale.at({i[1]})) / Halide::sqrt(mo.spread.at(g) + eps);
    return (as_double(x.at(i)) - mo.mean.at(g)) * k + as_double(bias.at({i[1]}));
  })};
  const Shape c_shape{channels};
  auto running = [&](size_t k, const TensorFunc& old, const TensorFunc& batch) {
    return define_output(ctx, k, c_shape, [&](const Exprs& c) {
      return as_double(old.at(c)) * momentum + stat(batch, c) * (Expr(1.0) - momentum);
    });
  };
  if (ctx.num_outputs() > 1) outs.push_back(running(1, mean, mo.mean));
  if (ctx.num_outputs() > 2) outs.push_back(running(2, var, mo.spread));
  if (ctx.num_outputs() > 3) outs.push_back(define_output(ctx, 3, c_shape, [&](const Exprs& c) { return stat(mo.mean, c); }));
  if (ctx.num_outputs() > 4) outs.push_back(define_output(ctx, 4, c_shape, [&](const Exprs& c) { return stat(mo.spread, c); }));
  return outs;
}

}  // namespace

std::vector<TensorFunc> lower_BatchNormalization(LowerContext& ctx) {
  const TensorFunc& x = float_input(ctx);
  // Training mode: opset 14+ says so with training_mode; before, the extra outputs (running
  // and saved statistics) mark it. Other combinations are errors the reference reports.
  bool extra = false;
  for (size_t k = 1; k < ctx.num_outputs(); ++k) extra = extra || !ctx.omitted(k);
  const bool training = ctx.opset >= 14 ? ctx.attrs().get_int("training_mode", 0) != 0 : extra;
  ctx.require(ctx.num_outputs() <= (ctx.opset >= 14 ? 3u : 5u) && (training || !extra) &&
                  (ctx.opset >= 7 || !extra || ctx.attrs().get_int("is_test", 0) == 0),
              "outputs that do not match the mode");
  ctx.require(ctx.opset >= 9 || ctx.attrs().get_int("spatial", 1) != 0, "spatial=0");
  if (training) return batch_norm_training(ctx, x);
  ctx.require(x.rank() >= 1, "X must have rank >= 1");
  const int64_t channels = x.rank() >= 2 ? x.shape[1] : 1;  // a rank-1 X is [N] with C = 1
  for (size_t k = 1; k <= 4; ++k) {
    halide_type(ctx.in(k).dtype);
    ctx.require(ctx.in(k).shape == Shape{channels}, "scale, B, mean and var must have shape [C]");
  }
  const Expr eps(static_cast<double>(ctx.attrs().get_float("epsilon", 1e-5f)));
  const TensorFunc &scale = ctx.in(1), &bias = ctx.in(2), &mean = ctx.in(3), &var = ctx.in(4);
  TensorFunc factor = define(ctx.node.name + "_factor", {channels}, DType::Float64, [&](const Exprs& c) {
    return as_double(scale.at(c)) / Halide::sqrt(as_double(var.at(c)) + eps);
  });
  factor.f.compute_root();  // read by every element
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Exprs c{x.rank() >= 2 ? i[1] : Expr(0)};
    return (as_double(x.at(i)) - as_double(mean.at(c))) * factor.at(c) + as_double(bias.at(c));
  })};
}

std::vector<TensorFunc> lower_InstanceNormalization(LowerContext& ctx) {
  const TensorFunc& x = float_input(ctx);
  ctx.require(x.rank() >= 2, "input must be [N, C, D1, ...]");
  for (size_t k = 1; k <= 2; ++k) {
    halide_type(ctx.in(k).dtype);
    ctx.require(ctx.in(k).shape == Shape{x.shape[1]}, "scale and B must have shape [C]");
  }
  const TensorFunc &scale = ctx.in(1), &bias = ctx.in(2);
  const Expr eps(static_cast<double>(ctx.attrs().get_float("epsilon", 1e-5f)));
  std::vector<bool> reduced = axes_from(x.rank(), 2);
  // Per (instance, channel): scale / standard deviation.
  Moments mo = moments(ctx.node.name, x, reduced, [&](Expr sq, Expr n, const Exprs& g) {
    return as_double(scale.at({g[1]})) / Halide::sqrt(sq / n + eps);
  });
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Exprs g = group_index(reduced, i);
    return (as_double(x.at(i)) - mo.mean.at(g)) * mo.spread.at(g) + as_double(bias.at({i[1]}));
  })};
}

std::vector<TensorFunc> lower_MeanVarianceNormalization(LowerContext& ctx) {
  const TensorFunc& x = float_input(ctx);
  ctx.require(x.rank() >= 1, "input must have rank >= 1");
  std::vector<bool> reduced(x.shape.size(), false);
  for (int64_t a : ctx.attrs().get_ints("axes", {0, 2, 3})) reduced[normalize_axis(ctx, a, x.rank())] = true;
  // The denominator: the population standard deviation + 1e-9.
  Moments mo = moments(ctx.node.name, x, reduced, [&](Expr sq, Expr n, const Exprs&) {
    return Halide::sqrt(sq / n) + Expr(1e-9);
  });
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Exprs g = group_index(reduced, i);
    return (as_double(x.at(i)) - mo.mean.at(g)) / mo.spread.at(g);
  })};
}

std::vector<TensorFunc> lower_LRN(LowerContext& ctx) {
  const TensorFunc& x = float_input(ctx);
  const Attributes& a = ctx.attrs();
  ctx.require(a.has("size") && a.get_int("size", 1) >= 1, "size must be given and >= 1");
  ctx.require(x.rank() >= 2 && x.shape[1] > 0, "X must be [N, C, D1, ...] with C > 0");
  const int64_t size = a.get_int("size", 1), channels = x.shape[1];
  const double alpha = a.get_float("alpha", 1e-4f), beta = a.get_float("beta", 0.75f), bias = a.get_float("bias", 1.0f);
  // Channel offsets [-floor((size-1)/2), ceil((size-1)/2)], cut to those that can be in range.
  const int64_t first = std::max(-(size - 1) / 2, 1 - channels), last = std::min(size / 2, channels - 1);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    Halide::RDom w(i32(first), i32(last - first + 1));
    Expr j = i[1] + w;
    Exprs at = i;
    at[1] = Halide::clamp(j, 0, i32(channels - 1));
    Expr v = as_double(x.at(at));
    // Adding 0 for the channels outside [0, C) leaves the reference's sum unchanged.
    Expr sq = Halide::sum(w, Halide::select(j >= 0 && j < i32(channels), v * v, Expr(0.0)));
    return as_double(x.at(i)) / Halide::pow(Expr(bias) + Expr(alpha / static_cast<double>(size)) * sq, Expr(beta));
  })};
}

// ---- index reductions -------------------------------------------------------------------

namespace {
std::vector<TensorFunc> lower_arg(LowerContext& ctx, bool want_max) {
  const TensorFunc& x = ctx.in(0);
  halide_type(x.dtype);
  ctx.require(x.rank() >= 1, "input must have rank >= 1");
  const int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  const bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  const bool last = ctx.attrs().get_int("select_last_index", 0) != 0;
  ctx.require(x.shape[axis] > 0, "arg extreme of an empty axis");
  Shape out = x.shape;
  if (keepdims) out[axis] = 1;
  else out.erase(out.begin() + axis);
  std::vector<bool> reduced(x.shape.size(), false);
  reduced[axis] = true;
  TensorFunc pos = arg_extreme(ctx.node.name, x, reduced, want_max, last);
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    Exprs g = i;
    if (keepdims) g[axis] = 0;
    else g.insert(g.begin() + axis, Expr(0));
    return pos.at(g);
  })};
}
}  // namespace

std::vector<TensorFunc> lower_ArgMax(LowerContext& ctx) { return lower_arg(ctx, true); }
std::vector<TensorFunc> lower_ArgMin(LowerContext& ctx) { return lower_arg(ctx, false); }

// A scan along the axis (input 1, which must be a constant), in the input type: integers wrap
// around (summed unsigned, as Halide's signed overflow is undefined), bools or together.
std::vector<TensorFunc> lower_CumSum(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  const Halide::Type t = halide_type(x.dtype);
  ctx.require(x.rank() >= 1, "input must have rank >= 1");
  std::vector<int64_t> axis_value = ctx.const_ints(1);
  ctx.require(axis_value.size() == 1, "axis must hold one value");
  const int axis = static_cast<int>(normalize_axis(ctx, axis_value[0], x.rank()));
  const bool exclusive = ctx.attrs().get_int("exclusive", 0) != 0;
  const bool reverse = ctx.attrs().get_int("reverse", 0) != 0;
  const int n = static_cast<int>(x.shape[axis]);
  const Halide::Type acc = t.is_int() ? Halide::UInt(t.bits()) : t;
  auto add = [&](Expr a, Expr b) { return t.is_bool() ? (a || b) : a + b; };
  std::vector<Var> v = onnx_vars(x.rank(), "c");
  TensorFunc scan{Func(func_name(ctx.node.name + "_scan")), x.shape, x.dtype};
  scan.f(std::vector<Var>(v.rbegin(), v.rend())) = Halide::cast(acc, x.at(Exprs(v.begin(), v.end())));
  if (n > 1) {
    Halide::RDom r(1, n - 1);
    Exprs cur(v.begin(), v.end()), prev = cur;
    cur[axis] = reverse ? (n - 1) - r : Expr(r);
    prev[axis] = reverse ? cur[axis] + 1 : cur[axis] - 1;
    scan.f(Exprs(cur.rbegin(), cur.rend())) = add(scan.at(prev), Halide::cast(acc, x.at(cur)));
  }
  schedule_root(scan.f, x.shape, numel_of(x.shape), axis);
  return {define_output(ctx, 0, x.shape, [&](const Exprs& i) {
    if (!exclusive) return scan.at(i);
    // The inclusive sum one step back along the scan, 0 at its start.
    Exprs before = i;
    before[axis] = reverse ? Halide::min(i[axis] + 1, n - 1) : Halide::max(i[axis] - 1, 0);
    Expr start = reverse ? i[axis] == n - 1 : i[axis] == 0;
    return Halide::select(start, Halide::cast(acc, 0), scan.at(before));
  })};
}

}  // namespace nnc::cpu
