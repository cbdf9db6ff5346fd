// What every pass sees: the graph it rewrites in place and the options of this run.
// A pass returns true when it changed the graph.
#pragma once
#include <cstdint>

#include "ir/graph.h"

namespace nnc {

struct PassOptions {
  // Constant folding never creates a constant larger than this, nor more than
  // 4x this in one run, so a small file cannot make the optimizer allocate gigabytes.
  int64_t fold_budget_bytes = int64_t{64} << 20;
  // Only rewrites whose result uses standard ONNX ops (no nnc-domain fused ops).
  bool standard_only = false;
};

using PassFn = bool (*)(Graph&, const PassOptions&);

}  // namespace nnc
