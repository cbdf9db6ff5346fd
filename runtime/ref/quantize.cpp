// Reference kernels of ONNX's linear quantization ops: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, QLinearConv, QLinearMatMul, ConvInteger and MatMulInteger.
// The quantized products do not get loops of their own: their operands are dequantized to
// float64 (QLinear*) or shifted by their zero points into int32 (*Integer) and handed to the
// plain Conv / MatMul kernels, whose result is then quantized again where the op asks for it.
// Quantization rounds half to even and saturates to the target integer type.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/ref/kernels.h"

namespace nnc {

namespace {

// A scale or zero point as seen from each element of the tensor it applies to: one value for
// all of them, or a tensor broadcast onto that tensor's shape. Absent, it is `fallback`.
class QuantParam {
 public:
  explicit QuantParam(double fallback = 0.0) : fallback_(fallback) {}
  QuantParam(const Tensor& p, const Shape& p_view, const Shape& target) : p_(&p), map_(p_view, target) {}
  double operator[](int64_t i) const { return p_ ? p_->at_double(map_(i)) : fallback_; }

 private:
  const Tensor* p_ = nullptr;
  BroadcastMap map_{Shape{}, Shape{}};
  double fallback_ = 0.0;
};

// Absent, a scalar / one-element tensor (per tensor), or a 1-D tensor with one entry per index
// along `axis` of `target` (per axis).
QuantParam per_axis(const KernelContext& ctx, const Tensor* p, const Shape& target, int64_t axis,
                    const std::string& what, double fallback = 0.0) {
  if (!p) return QuantParam(fallback);
  if (p->numel() == 1) return QuantParam(*p, Shape{}, target);
  ctx.require(p->rank() == 1, what + " must be a scalar or a 1-D tensor, got " + shape_str(p->shape()));
  int64_t rank = static_cast<int64_t>(target.size());
  axis = normalize_axis(ctx, axis, rank);
  ctx.require(p->dim(0) == target[axis], what + " has " + std::to_string(p->dim(0)) + " entries, but axis " +
                                             std::to_string(axis) + " of " + shape_str(target) + " has " +
                                             std::to_string(target[axis]));
  Shape view(static_cast<size_t>(rank - axis), 1);  // [n, 1, ..., 1] lines the entries up with `axis`
  view[0] = p->dim(0);
  return QuantParam(*p, view, target);
}

// Only one value for the whole tensor.
QuantParam per_tensor(const KernelContext& ctx, const Tensor* p, const Shape& target, const std::string& what) {
  ctx.require(!p || p->numel() == 1, what + " must be a scalar, got " + (p ? shape_str(p->shape()) : ""));
  return per_axis(ctx, p, target, 0, what);
}

// The MatMul operands' parameters: per tensor, a 1-D vector per row (of A and Y) or per column
// (of B), or an N-D tensor broadcast onto the operand ([..., M, 1] per row, [..., 1, N] per column).
QuantParam matmul_param(const KernelContext& ctx, const Tensor* p, const Shape& target, bool per_row,
                        const std::string& what) {
  if (!p || p->rank() <= 1) {
    ctx.require(!p || p->numel() == 1 || target.size() >= 2,
                what + " can only be per row or column of a matrix, the operand is " + shape_str(target));
    return per_axis(ctx, p, target, per_row ? -2 : -1, what);
  }
  ctx.require(p->shape().size() <= target.size() && broadcast_shapes(ctx, p->shape(), target) == target,
              what + " " + shape_str(p->shape()) + " does not broadcast to its operand " + shape_str(target));
  return QuantParam(*p, p->shape(), target);
}

// Input i as a scale: required, float.
const Tensor* scale_input(const KernelContext& ctx, size_t i, const std::string& what) {
  const Tensor& s = ctx.in(i);
  ctx.require(is_float(s.dtype()), what + " must be a float tensor, got " + dtype_name(s.dtype()));
  return &s;
}

// Input i as the zero point of `data` (nullptr when absent): same element type as the data.
const Tensor* zero_point_input(const KernelContext& ctx, size_t i, DType data, const std::string& what) {
  if (!ctx.has_input(i)) return nullptr;
  const Tensor& z = ctx.in(i);
  ctx.require(z.dtype() == data, what + " is " + dtype_name(z.dtype()) + " but its data is " + dtype_name(data));
  return &z;
}

// The quantized element type: that of the given zero point, uint8 without one.
DType quantized_type(const KernelContext& ctx, const Tensor* zero_point) {
  DType t = zero_point ? zero_point->dtype() : DType::UInt8;
  ctx.require(t == DType::UInt8 || t == DType::Int8, std::string("the quantized type must be int8 or uint8, got ") +
                                                         dtype_name(t));
  return t;
}

// y = (x - zero) * scale as a `to` tensor; with scale 1 and an integer `to`, a zero-point shift.
Tensor dequantize(const KernelContext& ctx, const Tensor& x, const QuantParam& scale, const QuantParam& zero,
                  DType to) {
  ctx.require(is_integer(x.dtype()), std::string("quantized data must be integers, got ") + dtype_name(x.dtype()));
  Tensor y(to, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) y.set_double(i, (x.at_double(i) - zero[i]) * scale[i]);
  return y;
}

// y = saturate(round_half_even(x / scale) + zero) as a `to` (int8 or uint8) tensor.
Tensor quantize(const KernelContext& ctx, const Tensor& x, const QuantParam& scale, const QuantParam& zero, DType to) {
  ctx.require(is_float(x.dtype()) || is_integer(x.dtype()),
              std::string("cannot quantize a ") + dtype_name(x.dtype()) + " tensor");
  // float32 data is divided in float, as the ONNX reference (numpy) and onnxruntime do: a quotient
  // rounded to float can land on a different side of a .5 tie than the exact one.
  const bool in_float = x.dtype() == DType::Float32 || x.dtype() == DType::Float16 || x.dtype() == DType::BFloat16;
  Tensor y(to, x.shape());
  auto fill = [&](auto* out) {
    using Q = std::remove_pointer_t<decltype(out)>;
    for (int64_t i = 0; i < x.numel(); ++i) {
      double q = in_float ? static_cast<double>(static_cast<float>(x.at_double(i)) / static_cast<float>(scale[i]))
                          : x.at_double(i) / scale[i];
      // nearbyint rounds half to even; convert_scalar saturates (and maps NaN to 0).
      out[i] = convert_scalar<Q>(std::nearbyint(q) + zero[i]);
    }
  };
  if (to == DType::UInt8) fill(y.data<uint8_t>());
  else if (to == DType::Int8) fill(y.data<int8_t>());
  else ctx.fail(std::string("the quantized type must be int8 or uint8, got ") + dtype_name(to));
  return y;
}



}  // namespace

Tensors ref_QuantizeLinear(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor* scale = scale_input(ctx, 1, "y_scale");
  const Tensor* zero = ctx.has_input(2) ? &ctx.in(2) : nullptr;
  int64_t axis = ctx.attrs().get_int("axis", 1);
  return single_output(ctx, quantize(ctx, x, per_axis(ctx, scale, x.shape(), axis, "y_scale"),
                                     per_axis(ctx, zero, x.shape(), axis, "y_zero_point"), quantized_type(ctx, zero)));
}

Tensors ref_DequantizeLinear(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor* scale = scale_input(ctx, 1, "x_scale");
  const Tensor* zero = zero_point_input(ctx, 2, x.dtype(), "x_zero_point");
  int64_t axis = ctx.attrs().get_int("axis", 1);
  return single_output(ctx, dequantize(ctx, x, per_axis(ctx, scale, x.shape(), axis, "x_scale"),
                                       per_axis(ctx, zero, x.shape(), axis, "x_zero_point"), scale->dtype()));
}

// uint8 quantization over the data's range widened to include 0 (so that 0 is exact):
// scale = (max - min) / 255, zero point = round(saturate(-min / scale)), all in float.
Tensors ref_DynamicQuantizeLinear(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(is_float(x.dtype()), std::string("x must be a float tensor, got ") + dtype_name(x.dtype()));
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < x.numel(); ++i) {
    float v = static_cast<float>(x.at_double(i));
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // An all-zero x gives scale 0; the divisions below then give NaN, which quantizes to 0.
  float scale = (hi - lo) / 255.0f;
  Tensor y_scale = Tensor::scalar_float(scale);
  Tensor y_zero(DType::UInt8, {});
  y_zero.data<uint8_t>()[0] = convert_scalar<uint8_t>(std::nearbyint((0.0f - lo) / scale));
  Tensor y = quantize(ctx, x, QuantParam(y_scale, {}, x.shape()), QuantParam(y_zero, {}, x.shape()), DType::UInt8);
  Tensors outs(std::max<size_t>(1, ctx.num_outputs()));
  outs[0] = std::move(y);
  if (outs.size() > 1) outs[1] = std::move(y_scale);
  if (outs.size() > 2) outs[2] = std::move(y_zero);
  return outs;
}

// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B (int32,
// quantized with scale x_scale * w_scale and zero point 0). w's parameters may be per output channel.
Tensors ref_QLinearConv(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& w = ctx.in(3);
  const Tensor* y_zero = ctx.has_input(7) ? &ctx.in(7) : nullptr;
  QuantParam x_scale = per_tensor(ctx, scale_input(ctx, 1, "x_scale"), x.shape(), "x_scale");
  Tensor X = dequantize(ctx, x, x_scale,
                        per_tensor(ctx, zero_point_input(ctx, 2, x.dtype(), "x_zero_point"), x.shape(), "x_zero_point"),
                        DType::Float64);
  const Tensor* w_scale = scale_input(ctx, 4, "w_scale");
  const Tensor* w_zero = zero_point_input(ctx, 5, w.dtype(), "w_zero_point");
  Tensor W = dequantize(ctx, w, per_axis(ctx, w_scale, w.shape(), 0, "w_scale"),
                        per_axis(ctx, w_zero, w.shape(), 0, "w_zero_point"), DType::Float64);
  Tensor bias;
  if (ctx.has_input(8)) {
    const Tensor& b = ctx.in(8);
    ctx.require(b.dtype() == DType::Int32 && b.rank() == 1, "the bias B must be a 1-D int32 tensor, got " +
                                                                std::string(dtype_name(b.dtype())) + " " +
                                                                shape_str(b.shape()));
    QuantParam b_w_scale = per_axis(ctx, w_scale, b.shape(), 0, "w_scale");
    bias = Tensor(DType::Float64, b.shape());
    for (int64_t m = 0; m < b.numel(); ++m) bias.set_double(m, b.at_double(m) * x_scale[0] * b_w_scale[m]);
  }
  Tensor Y = run_kernel(ctx, OpKind::Conv, {&X, &W, ctx.has_input(8) ? &bias : nullptr}, ctx.attrs());
  return single_output(ctx, quantize(ctx, Y, per_tensor(ctx, scale_input(ctx, 6, "y_scale"), Y.shape(), "y_scale"),
                                     per_tensor(ctx, y_zero, Y.shape(), "y_zero_point"), quantized_type(ctx, y_zero)));
}

// Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point; a's and y's
// parameters may be per row, b's per column.
Tensors ref_QLinearMatMul(const KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(3);
  const Tensor* y_zero = ctx.has_input(7) ? &ctx.in(7) : nullptr;
  Tensor A = dequantize(ctx, a, matmul_param(ctx, scale_input(ctx, 1, "a_scale"), a.shape(), true, "a_scale"),
                        matmul_param(ctx, zero_point_input(ctx, 2, a.dtype(), "a_zero_point"), a.shape(), true,
                                     "a_zero_point"),
                        DType::Float64);
  Tensor B = dequantize(ctx, b, matmul_param(ctx, scale_input(ctx, 4, "b_scale"), b.shape(), false, "b_scale"),
                        matmul_param(ctx, zero_point_input(ctx, 5, b.dtype(), "b_zero_point"), b.shape(), false,
                                     "b_zero_point"),
                        DType::Float64);
  Tensor Y = run_kernel(ctx, OpKind::MatMul, {&A, &B});
  QuantParam y_scale = matmul_param(ctx, scale_input(ctx, 6, "y_scale"), Y.shape(), true, "y_scale");
  return single_output(ctx, quantize(ctx, Y, y_scale, matmul_param(ctx, y_zero, Y.shape(), true, "y_zero_point"),
                                     quantized_type(ctx, y_zero)));
}

// Inputs: x, w, x_zero_point (per tensor), w_zero_point (per tensor or per output channel).
Tensors ref_ConvInteger(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& w = ctx.in(1);
  const QuantParam one(1.0);
  Tensor X = dequantize(
      ctx, x, one, per_tensor(ctx, zero_point_input(ctx, 2, x.dtype(), "x_zero_point"), x.shape(), "x_zero_point"),
      DType::Int32);
  Tensor W = dequantize(
      ctx, w, one, per_axis(ctx, zero_point_input(ctx, 3, w.dtype(), "w_zero_point"), w.shape(), 0, "w_zero_point"),
      DType::Int32);
  return single_output(ctx, run_kernel(ctx, OpKind::Conv, {&X, &W}, ctx.attrs()));
}

// Inputs: A, B, a_zero_point (per tensor or per row), b_zero_point (per tensor or per column).
Tensors ref_MatMulInteger(const KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  const QuantParam one(1.0);
  Tensor A = dequantize(
      ctx, a, one,
      matmul_param(ctx, zero_point_input(ctx, 2, a.dtype(), "a_zero_point"), a.shape(), true, "a_zero_point"),
      DType::Int32);
  Tensor B = dequantize(
      ctx, b, one,
      matmul_param(ctx, zero_point_input(ctx, 3, b.dtype(), "b_zero_point"), b.shape(), false, "b_zero_point"),
      DType::Int32);
  return single_output(ctx, run_kernel(ctx, OpKind::MatMul, {&A, &B}));
}

}  // namespace nnc
