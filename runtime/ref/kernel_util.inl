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

}  // namespace nnc
