// Element-wise unary and binary kernels, generated from the scalar bodies in ir/ops.def.
#include <cmath>

#include "ir/scalar_math.h"
#include "runtime/ref/kernels.h"

namespace nnc {
namespace {

enum TypeClass { Floats, Numbers, Ints, Bools, NumbersBools };
enum OutKind { SameType, BoolType };

template <class T>
constexpr bool accepts(TypeClass c) {
  constexpr bool is_f = std::is_floating_point_v<compute_t<T>>;
  constexpr bool is_b = std::is_same_v<T, bool>;
  constexpr bool is_i = std::is_integral_v<T> && !is_b;
  switch (c) {
    case Floats: return is_f;
    case Numbers: return is_f || is_i;
    case Ints: return is_i;
    case Bools: return is_b;
    case NumbersBools: return is_f || is_i || is_b;
  }
  return false;
}

std::string type_error(const KernelContext&, DType t) {
  return std::string("element type ") + dtype_name(t) + " is not supported";
}

// y = Fn::apply(x, a, b) for every element.
template <class Fn>
Tensors unary(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  float a = ctx.attrs().get_float(Fn::attr_a, Fn::default_a);
  float b = ctx.attrs().get_float(Fn::attr_b, Fn::default_b);
  Tensor y(Fn::out == BoolType ? DType::Bool : x.dtype(), x.shape());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (accepts<T>(Fn::types)) {
      using C = compute_t<T>;
      using O = std::conditional_t<Fn::out == BoolType, bool, T>;
      const T* src = x.data<T>();
      O* dst = y.data<O>();
      for (int64_t i = 0; i < x.numel(); ++i) dst[i] = convert_scalar<O>(Fn::apply(static_cast<C>(src[i]), a, b));
    } else {
      ctx.fail(type_error(ctx, x.dtype()));
    }
  });
  return {std::move(y)};
}

// z = Fn::apply(x, y, a) with broadcasting; y is converted to x's type first (Pow allows
// an exponent of another type).
template <class Fn>
Tensor binary_step(const KernelContext& ctx, const Tensor& x, const Tensor& y_in, float a) {
  Tensor y_cast;
  const Tensor* y = &y_in;
  if (y_in.dtype() != x.dtype()) {
    if (ctx.node.op != OpKind::Pow) ctx.fail("inputs have different element types");
    y_cast = y_in.cast(x.dtype());
    y = &y_cast;
  }
  Shape out_shape = broadcast_shapes(ctx, x.shape(), y->shape());
  Tensor z(Fn::out == BoolType ? DType::Bool : x.dtype(), out_shape);
  BroadcastMap mx(x.shape(), out_shape), my(y->shape(), out_shape);
  bool same_x = x.shape() == out_shape, same_y = y->shape() == out_shape;
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (accepts<T>(Fn::types)) {
      using C = compute_t<T>;
      using O = std::conditional_t<Fn::out == BoolType, bool, T>;
      const T* px = x.data<T>();
      const T* py = y->data<T>();
      O* pz = z.data<O>();
      for (int64_t i = 0; i < z.numel(); ++i) {
        C xv = static_cast<C>(px[same_x ? i : mx(i)]);
        C yv = static_cast<C>(py[same_y ? i : my(i)]);
        pz[i] = convert_scalar<O>(Fn::apply(xv, yv, a));
      }
    } else {
      ctx.fail(type_error(ctx, x.dtype()));
    }
  });
  return z;
}

template <class Fn>
Tensors binary(const KernelContext& ctx) {
  float a = ctx.attrs().get_float(Fn::attr, Fn::default_a);
  Tensor acc = ctx.in(0);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) acc = binary_step<Fn>(ctx, acc, ctx.in(i), a);
  if (ctx.node.op == OpKind::Mean) {  // Mean folds a sum, then divides by the count
    for (int64_t i = 0; i < acc.numel(); ++i) acc.set_double(i, acc.at_double(i) / double(ctx.num_inputs()));
  }
  return {std::move(acc)};
}

using namespace nnc::sm;

#define NNC_OP(E, N, D, C)
#define NNC_UNARY(E, N, D, TY, OUT, A, AD, B, BD, BODY)                         \
  struct E##Fn {                                                                 \
    static constexpr TypeClass types = TY;                                       \
    static constexpr OutKind out = OUT;                                          \
    static constexpr const char* attr_a = A;                                     \
    static constexpr const char* attr_b = B;                                     \
    static constexpr float default_a = static_cast<float>(AD);                   \
    static constexpr float default_b = static_cast<float>(BD);                   \
    template <class T> static auto apply(T x, float a_, float b_) {              \
      using F = std::conditional_t<std::is_floating_point_v<T>, T, double>;      \
      [[maybe_unused]] F a = a_, b = b_;                                         \
      return BODY;                                                               \
    }                                                                            \
  };
#define NNC_BINARY(E, N, TY, OUT, A, AD, BODY)                                   \
  struct E##Fn {                                                                 \
    static constexpr TypeClass types = TY;                                       \
    static constexpr OutKind out = OUT;                                          \
    static constexpr const char* attr = A;                                       \
    static constexpr float default_a = static_cast<float>(AD);                   \
    template <class T> static auto apply(T x, T y, float a) { return BODY; }     \
  };
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH)
#include "ir/ops.def"

}  // namespace

#define NNC_OP(E, N, D, C)
#define NNC_UNARY(E, N, D, TY, OUT, A, AD, B, BD, BODY) \
  Tensors ref_##E(const KernelContext& ctx) { return unary<E##Fn>(ctx); }
#define NNC_BINARY(E, N, TY, OUT, A, AD, BODY) \
  Tensors ref_##E(const KernelContext& ctx) { return binary<E##Fn>(ctx); }
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH)
#include "ir/ops.def"

}  // namespace nnc
