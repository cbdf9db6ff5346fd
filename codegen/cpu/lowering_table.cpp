// find_lowering: the op -> lowering map, expanded from ir/ops.def and the family lists in
// codegen/cpu/lowerings.h.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

Lowering find_lowering(OpKind op) {
  switch (op) {
#define NNC_CPU_CASE(E) case OpKind::E: return &lower_##E;
    NNC_CPU_ELEMENTWISE_OPS(NNC_CPU_CASE)
    NNC_CPU_LINEAR_OPS(NNC_CPU_CASE)
    NNC_CPU_NORM_OPS(NNC_CPU_CASE)
    NNC_CPU_MOVEMENT_OPS(NNC_CPU_CASE)
    NNC_CPU_EXTRA_OPS(NNC_CPU_CASE)
#define NNC_OP(E, N, D, C)
#define NNC_UNARY(E, N, D, TY, OUT, A, AD, B, BD, BODY) NNC_CPU_CASE(E)
#define NNC_BINARY(E, N, TY, OUT, A, AD, BODY) NNC_CPU_CASE(E)
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH) NNC_CPU_CASE(E)
#include "ir/ops.def"
#undef NNC_CPU_CASE
    default: return nullptr;
  }
}

}  // namespace nnc::cpu
