// Reference kernels for element-wise ops with optional inputs or non-float attributes
// (Clip, Where, BitShift, Cast, CastLike) and for tensor sources and
// shape queries (Constant, ConstantOfShape, Range, EyeLike, Shape, Size).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/ref/kernels.h"

namespace nnc {

Tensors ref_Clip(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  Tensor y = x;
  bool has_lo = false, has_hi = false;
  double lo = 0, hi = 0;
  if (ctx.opset < 11) {  // min/max were attributes
    lo = ctx.attrs().get_float("min", -INFINITY), hi = ctx.attrs().get_float("max", INFINITY);
    has_lo = has_hi = true;
  } else {
    if (ctx.has_input(1)) { ctx.require(ctx.in(1).numel() == 1, "min must be a scalar"); lo = ctx.in(1).at_double(0); has_lo = true; }
    if (ctx.has_input(2)) { ctx.require(ctx.in(2).numel() == 1, "max must be a scalar"); hi = ctx.in(2).at_double(0); has_hi = true; }
  }
  for (int64_t i = 0; i < y.numel(); ++i) {
    double v = y.at_double(i);
    if (has_lo && v < lo) v = lo;
    if (has_hi && v > hi) v = hi;
    y.set_double(i, v);
  }
  return {std::move(y)};
}

Tensors ref_Where(const KernelContext& ctx) {
  const Tensor& c = ctx.in(0);
  const Tensor& a = ctx.in(1);
  const Tensor& b = ctx.in(2);
  ctx.require(c.dtype() == DType::Bool, "condition must be bool");
  ctx.require(a.dtype() == b.dtype(), "X and Y have different element types");
  Shape out = broadcast_shapes(ctx, broadcast_shapes(ctx, c.shape(), a.shape()), b.shape());
  Tensor y(a.dtype(), out);
  BroadcastMap mc(c.shape(), out), ma(a.shape(), out), mb(b.shape(), out);
  if (a.dtype() == DType::String) {
    for (int64_t i = 0; i < y.numel(); ++i)
      y.strings()[i] = c.data<bool>()[mc(i)] ? a.strings()[ma(i)] : b.strings()[mb(i)];
    return {std::move(y)};
  }
  size_t es = dtype_size(a.dtype());
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (int64_t i = 0; i < y.numel(); ++i) {
    const auto* src = c.data<bool>()[mc(i)] ? static_cast<const uint8_t*>(a.raw()) + ma(i) * es
                                            : static_cast<const uint8_t*>(b.raw()) + mb(i) * es;
    std::memcpy(dst + i * es, src, es);
  }
  return {std::move(y)};
}

Tensors ref_BitShift(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& s = ctx.in(1);
  ctx.require(x.dtype() == s.dtype(), "inputs have different element types");
  bool left = ctx.attrs().get_string("direction", "") == "LEFT";
  Shape out = broadcast_shapes(ctx, x.shape(), s.shape());
  Tensor y(x.dtype(), out);
  BroadcastMap mx(x.shape(), out), ms(s.shape(), out);
  visit_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
      for (int64_t i = 0; i < y.numel(); ++i) {
        T v = x.data<T>()[mx(i)], n = s.data<T>()[ms(i)];
        y.data<T>()[i] = n >= sizeof(T) * 8 ? T(0) : static_cast<T>(left ? v << n : v >> n);
      }
    } else {
      ctx.fail("BitShift needs unsigned integers");
    }
  });
  return {std::move(y)};
}

Tensors ref_Cast(const KernelContext& ctx) {
  int64_t to = ctx.attrs().get_int("to", 0);
  ctx.require(is_valid_dtype(static_cast<int>(to)), "unsupported target type " + std::to_string(to));
  return {ctx.in(0).cast(static_cast<DType>(to))};
}

Tensors ref_CastLike(const KernelContext& ctx) { return {ctx.in(0).cast(ctx.in(1).dtype())}; }


Tensors ref_Constant(const KernelContext& ctx) {
  const Attributes& at = ctx.attrs();
  if (const Tensor* t = at.get_tensor("value")) return {*t};
  if (at.has("value_float")) return {Tensor::scalar_float(at.get_float("value_float", 0))};
  if (at.has("value_floats")) {
    auto v = at.get_floats("value_floats");
    return {Tensor::from_floats(v, {static_cast<int64_t>(v.size())})};
  }
  if (at.has("value_int")) return {Tensor::from_int64s({at.get_int("value_int", 0)}, {})};
  if (at.has("value_ints")) {
    auto v = at.get_ints("value_ints");
    return {Tensor::from_int64s(v, {static_cast<int64_t>(v.size())})};
  }
  if (at.has("value_string")) {
    Tensor t(DType::String, {});
    t.strings()[0] = at.get_string("value_string", "");
    return {t};
  }
  ctx.fail("Constant has no value attribute (sparse values are not supported)");
}

Tensors ref_ConstantOfShape(const KernelContext& ctx) {
  Shape shape = ctx.in(0).to_int64s();
  for (int64_t d : shape) ctx.require(d >= 0, "negative dimension " + std::to_string(d) + " in " + shape_str(shape));
  const Tensor* value = ctx.attrs().get_tensor("value");
  DType dt = value ? value->dtype() : DType::Float32;
  Tensor y(dt, shape);  // checked: a huge shape is a clear error, not an allocation
  if (value) {
    ctx.require(value->numel() == 1, "value must hold one element");
    double v = value->at_double(0);
    for (int64_t i = 0; i < y.numel(); ++i) y.set_double(i, v);
  }
  return {std::move(y)};
}

Tensors ref_Range(const KernelContext& ctx) {
  const Tensor& start = ctx.in(0);
  double s = start.at_double(0), limit = ctx.in(1).at_double(0), delta = ctx.in(2).at_double(0);
  ctx.require(delta != 0, "delta must not be zero");
  double count = std::ceil((limit - s) / delta);
  ctx.require(std::isfinite(count), "the range has no finite length");
  int64_t n = count > 0 ? static_cast<int64_t>(std::min(count, 9e18)) : 0;
  Tensor y(start.dtype(), {n});
  if (is_integer(start.dtype())) {
    int64_t si = static_cast<int64_t>(s), di = static_cast<int64_t>(delta);
    for (int64_t i = 0; i < n; ++i) y.set_double(i, static_cast<double>(si + i * di));
  } else {
    // Accumulate in the element type, as ONNX's reference does.
    visit_numeric(ctx, start.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = compute_t<T>;
      C v = static_cast<C>(s), d = static_cast<C>(delta);
      for (int64_t i = 0; i < n; ++i, v += d) y.data<T>()[i] = convert_scalar<T>(v);
    });
  }
  return {std::move(y)};
}

Tensors ref_EyeLike(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(x.rank() == 2, "input must be 2-D");
  DType dt = ctx.attrs().has("dtype") ? static_cast<DType>(ctx.attrs().get_int("dtype", 1)) : x.dtype();
  ctx.require(is_valid_dtype(static_cast<int>(dt)) && dt != DType::String, "unsupported dtype");
  int64_t k = ctx.attrs().get_int("k", 0);
  Tensor y(dt, x.shape());
  for (int64_t r = 0; r < x.dim(0); ++r) {
    int64_t c = r + k;
    if (c >= 0 && c < x.dim(1)) y.set_double(r * x.dim(1) + c, 1.0);
  }
  return {std::move(y)};
}

Tensors ref_Shape(const KernelContext& ctx) {
  const Shape& s = ctx.in(0).shape();
  int64_t rank = static_cast<int64_t>(s.size());
  auto clamp = [&](int64_t v) { v = v < 0 ? v + rank : v; return std::clamp<int64_t>(v, 0, rank); };
  int64_t start = clamp(ctx.attrs().get_int("start", 0));
  int64_t end = ctx.attrs().has("end") ? clamp(ctx.attrs().get_int("end", rank)) : rank;
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(s[i]);
  return {Tensor::from_int64s(dims, {static_cast<int64_t>(dims.size())})};
}

Tensors ref_Size(const KernelContext& ctx) { return {Tensor::from_int64s({ctx.in(0).numel()}, {})}; }

}  // namespace nnc
