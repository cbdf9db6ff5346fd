// Facts about a model for `nnc info`: op histogram, parameter count and bytes, FLOPs.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"

namespace nnc {

struct ModelStats {
  std::map<std::string, int> op_histogram;  // op name -> node count
  int64_t parameters = 0;                    // elements in initializers
  int64_t parameter_bytes = 0;
  double flops = 0;             // estimated multiply-adds x2 (+1 per element-wise op), symbolic dims taken as 1
  bool flops_complete = true;   // false when some node's shapes were unknown
};

ModelStats compute_stats(const Graph& g);

}  // namespace nnc
