// Declarations of every reference kernel, expanded from ir/ops.def.
#pragma once
#include "runtime/ref/kernel.h"

namespace nnc {

#define NNC_OP(E, N, D, C) Tensors ref_##E(const KernelContext& ctx);
#define NNC_VALUE_OP(E, N, D, C) RuntimeValues ref_##E(const KernelContext& ctx);
#include "ir/ops.def"

}  // namespace nnc
