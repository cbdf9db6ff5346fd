// The reference interpreter's kernel table, expanded from ir/ops.def: one entry per op.
#include "runtime/ref/kernels.h"

namespace nnc {

RefKernel ref_kernel(OpKind op) {
  switch (op) {
#define NNC_OP(E, N, D, C) case OpKind::E: return &ref_##E;
#define NNC_VALUE_OP(E, N, D, C) case OpKind::E: return nullptr;
#include "ir/ops.def"
    case OpKind::Unsupported: return nullptr;
  }
  return nullptr;
}

ValueKernel ref_value_kernel(OpKind op) {
  switch (op) {
#define NNC_OP(E, N, D, C) case OpKind::E: return nullptr;
#define NNC_VALUE_OP(E, N, D, C) case OpKind::E: return &ref_##E;
#include "ir/ops.def"
    case OpKind::Unsupported: return nullptr;
  }
  return nullptr;
}

}  // namespace nnc
