// Reductions (ReduceSum, ReduceMean, ...) generated from the NNC_REDUCE rows of ir/ops.def,
// plus the axis handling they share: axes as an attribute (older opsets) or as an input
// (ReduceSum since opset 13), keepdims, noop_with_empty_axes.
#include <cmath>

#include "ir/scalar_math.h"
#include "runtime/ref/kernels.h"

namespace nnc {
namespace {

struct ReducePlan {
  Shape out_shape;          // with keepdims applied
  std::vector<bool> reduced;  // per input axis
};

ReducePlan plan_reduction(const KernelContext& ctx, const Shape& in) {
  std::vector<int64_t> axes;
  bool axes_given = false;
  if (ctx.attrs().has("axes")) {
    axes = ctx.attrs().get_ints("axes");
    axes_given = true;
  } else if (ctx.has_input(1)) {
    axes = ctx.in(1).to_int64s();
    axes_given = !axes.empty();
  }
  bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  bool noop = ctx.attrs().get_int("noop_with_empty_axes", 0) != 0;
  int64_t rank = static_cast<int64_t>(in.size());
  ReducePlan p;
  p.reduced.assign(in.size(), !axes_given && !noop);
  for (int64_t a : axes) p.reduced[normalize_axis(ctx, a, rank)] = true;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!p.reduced[i]) p.out_shape.push_back(in[i]);
    else if (keepdims) p.out_shape.push_back(1);
  }
  return p;
}

// Maps each input element to its output slot and folds with Fn.
template <class Fn>
Tensors reduce(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ReducePlan p = plan_reduction(ctx, x.shape());
  Tensor y(x.dtype(), p.out_shape);
  int64_t out_n = y.numel();
  int64_t group = out_n ? x.numel() / out_n : 0;
  std::vector<double> acc(static_cast<size_t>(out_n), Fn::init);
  // Output strides over the input's axes (0 on reduced axes).
  Shape in_strides = strides_of(x.shape());
  Shape kept;
  for (size_t i = 0; i < x.shape().size(); ++i) if (!p.reduced[i]) kept.push_back(x.shape()[i]);
  Shape kept_strides = strides_of(kept);
  Shape out_stride_per_axis(x.shape().size(), 0);
  for (size_t i = 0, k = 0; i < x.shape().size(); ++i)
    if (!p.reduced[i]) out_stride_per_axis[i] = kept_strides[k++];
  visit_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t rem = i, o = 0;
      for (size_t ax = 0; ax < x.shape().size(); ++ax) {
        int64_t c = rem / in_strides[ax];
        rem %= in_strides[ax];
        o += c * out_stride_per_axis[ax];
      }
      acc[o] = Fn::combine(acc[o], Fn::map(static_cast<double>(static_cast<compute_t<T>>(src[i]))));
    }
  });
  for (int64_t o = 0; o < out_n; ++o) y.set_double(o, Fn::finish(acc[o], static_cast<double>(group)));
  return {std::move(y)};
}

using namespace nnc::sm;

#define NNC_OP(E, N, D, C)
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH)                 \
  struct E##Fn {                                                     \
    static constexpr double init = INIT;                             \
    static double map(double x) { return MAP; }                      \
    static double combine(double r, double v) { return COMBINE; }    \
    static double finish(double r, double n) { return FINISH; }      \
  };
#include "ir/ops.def"

}  // namespace

#define NNC_OP(E, N, D, C)
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH) \
  Tensors ref_##E(const KernelContext& ctx) { return reduce<E##Fn>(ctx); }
#include "ir/ops.def"

}  // namespace nnc
