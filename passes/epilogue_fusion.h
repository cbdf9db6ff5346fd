// Epilogue fusion, written once over op categories:
//   P = Conv | ConvTranspose | Gemm | MatMul (or their fused forms without an epilogue yet)
//   Add(P(...), Z)  -> FusedP(..., Z)                 (residual add, bias for MatMul)
//   Act(P(...))     -> FusedP(...) {activation=Act}   (Act: any op of category Activation;
//   Clip with constant bounds, e.g. ReLU6; PRelu with its slope as an extra input)
//   Act(Add(a, b))  -> FusedAdd(a, b) {activation=Act}
// Preconditions: P's result is used only by the Add or activation; the Add does not
// broadcast P's result to a bigger shape.
#pragma once
#include "passes/pass.h"

namespace nnc {

bool fuse_epilogues(Graph& g, const PassOptions& opts);

}  // namespace nnc
