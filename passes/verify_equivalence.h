// --verify's oracle: the reference interpreter's outputs on seeded random inputs, taken once
// from the original graph and compared with the graph after each pass.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "runtime/interpreter.h"

namespace nnc {

class ReferenceOutputs {
 public:
  ReferenceOutputs(const Graph& original, uint64_t seed, const std::map<std::string, int64_t>& dim_values);
  // "" when every output of g matches within tolerance * max(1, largest |expected|);
  // otherwise a description of the first mismatch.
  std::string compare(const Graph& g, double tolerance) const;

 private:
  TensorMap inputs_;
  std::vector<std::string> names_;
  std::vector<Tensor> expected_;
};

}  // namespace nnc
