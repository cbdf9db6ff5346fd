// Reference kernels of the optimizer's fused ops (ir/ops.def, NNC_FUSED and Gate): each
// runs the plain kernels of the ops it replaces, one after the other, so a fused op means
// exactly what the unfused subgraph meant.
#include <cstring>

#include "runtime/ref/kernels.h"

namespace nnc {
namespace {

OpKind activation_op(const KernelContext& ctx, const std::string& name) {
  auto k = find_op("", name);
  if (!k) k = find_op(kNncDomain, name);
  ctx.require(k && (op_info(*k).category == OpCategory::Activation || *k == OpKind::Clip || *k == OpKind::PRelu),
              "'" + name + "' is not an activation");
  return *k;
}

// y = activation(x) as named by the node's "activation", "activation_alpha" and
// "activation_beta" attributes; `slope` is PRelu's second input.
Tensor apply_activation(const KernelContext& ctx, Tensor x, const Tensor* slope) {
  std::string name = ctx.attrs().get_string("activation", "");
  if (name.empty()) return x;
  OpKind k = activation_op(ctx, name);
  const OpInfo& info = op_info(k);
  float alpha = ctx.attrs().get_float("activation_alpha", static_cast<float>(info.default_a));
  float beta = ctx.attrs().get_float("activation_beta", static_cast<float>(info.default_b));
  if (k == OpKind::Clip) {
    Tensor lo(x.dtype(), {}), hi(x.dtype(), {});
    lo.set_double(0, alpha), hi.set_double(0, beta);
    return run_kernel(ctx, k, {&x, &lo, &hi});
  }
  if (k == OpKind::PRelu) {
    ctx.require(slope != nullptr, "PRelu epilogue without a slope input");
    return run_kernel(ctx, k, {&x, slope});
  }
  Attributes attrs;
  if (*info.attr_a) attrs.set(info.attr_a, alpha);
  if (*info.attr_b) attrs.set(info.attr_b, beta);
  return run_kernel(ctx, k, {&x}, attrs);
}

Tensors fused(const KernelContext& ctx) {
  const OpInfo& info = op_info(ctx.node.op);
  size_t arity = static_cast<size_t>(info.fused_base_arity);
  Attributes base_attrs = ctx.attrs();
  for (const char* a : {"activation", "activation_alpha", "activation_beta"}) base_attrs.erase(a);
  std::vector<const Tensor*> base_inputs(arity, nullptr);
  for (size_t i = 0; i < arity && i < ctx.num_inputs(); ++i) base_inputs[i] = ctx.inputs[i];
  Tensor y = run_kernel(ctx, info.fused_base, base_inputs, base_attrs);
  if (ctx.has_input(arity)) {
    Tensor sum = run_kernel(ctx, OpKind::Add, {&y, &ctx.in(arity)});
    ctx.require(sum.shape() == y.shape(), "the residual input would broadcast the result");
    y = std::move(sum);
  }
  return {apply_activation(ctx, std::move(y), ctx.has_input(arity + 1) ? &ctx.in(arity + 1) : nullptr)};
}

// The two halves of x along `axis`.
std::pair<Tensor, Tensor> split_halves(const KernelContext& ctx, const Tensor& x, int64_t axis) {
  Shape shape = x.shape();
  ctx.require(shape[axis] % 2 == 0, "the gate's split axis has odd size " + std::to_string(shape[axis]));
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(x.dtype()));
  for (int64_t i = 0; i < axis; ++i) outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  int64_t half = shape[axis] / 2;
  shape[axis] = half;
  Tensor a(x.dtype(), shape), b(x.dtype(), shape);
  const char* src = static_cast<const char*>(x.raw());
  for (int64_t o = 0; o < outer; ++o) {
    std::memcpy(static_cast<char*>(a.raw()) + o * half * inner, src + (2 * o) * half * inner, half * inner);
    std::memcpy(static_cast<char*>(b.raw()) + o * half * inner, src + (2 * o + 1) * half * inner, half * inner);
  }
  return {std::move(a), std::move(b)};
}

}  // namespace

#define NNC_OP(E, N, D, C)
#define NNC_FUSED(E, N, BASE, ARITY) \
  Tensors ref_##E(const KernelContext& ctx) { return fused(ctx); }
#include "ir/ops.def"

Tensors ref_Gate(const KernelContext& ctx) {
  Tensor u, g;
  if (ctx.has_input(1)) {
    u = ctx.in(0), g = ctx.in(1);
    ctx.require(u.shape() == g.shape(), "gate inputs " + shape_str(u.shape()) + " and " + shape_str(g.shape()) +
                                            " differ in shape");
  } else {
    const Tensor& x = ctx.in(0);
    ctx.require(x.dtype() != DType::String, "a gate needs numbers");
    ctx.require(ctx.attrs().has("axis"), "a one-input gate needs the 'axis' to split along");
    int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), static_cast<int64_t>(x.shape().size()));
    std::tie(u, g) = split_halves(ctx, x, axis);
  }
  Tensor gate = apply_activation(ctx, std::move(g), nullptr);
  return {run_kernel(ctx, OpKind::Mul, {&u, &gate})};
}

}  // namespace nnc
