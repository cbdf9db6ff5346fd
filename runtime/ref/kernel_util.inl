#pragma once
#include <type_traits>

namespace nnc {

template <class F>
decltype(auto) visit_numeric(const KernelContext& ctx, DType t, F&& f) {
  if (t == DType::String) ctx.fail("string tensors are not supported here");
  return visit_dtype(t, [&](auto tag) -> decltype(f(TypeTag<float>{})) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, std::string>) ctx.fail("string tensors are not supported here");
    else return f(tag);
  });
}

template <class F>
decltype(auto) visit_float(const KernelContext& ctx, const Tensor& t, const std::string& what, F&& f) {
  if (!is_float(t.dtype())) ctx.fail(what + " must be a float tensor, got " + dtype_name(t.dtype()));
  return visit_numeric(ctx, t.dtype(), [&](auto tag) -> decltype(f(TypeTag<float>{})) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<compute_t<T>>) return f(tag);
    else ctx.fail(what + " must be a float tensor");
  });
}

}  // namespace nnc
