#include "passes/verify_equivalence.h"

#include <cmath>
#include <sstream>

#include "runtime/tensor_io.h"

namespace nnc {

ReferenceOutputs::ReferenceOutputs(const Graph& original, uint64_t seed,
                                   const std::map<std::string, int64_t>& dim_values) {
  uint64_t s = seed;
  for (const Value* v : original.inputs) inputs_[v->name] = random_input(*v, s++, dim_values);
  for (const Value* v : original.outputs) names_.push_back(v->name);
  expected_ = run_reference(original, inputs_);
}

std::string ReferenceOutputs::compare(const Graph& g, double tolerance) const {
  std::vector<Tensor> got;
  try {
    got = run_reference(g, inputs_);
  } catch (const Error& e) {
    return std::string("running it failed: ") + e.what();
  }
  if (got.size() != expected_.size()) return "it changed the number of outputs";
  for (size_t i = 0; i < got.size(); ++i) {
    const Tensor &a = expected_[i], &b = got[i];
    std::string what = "output '" + names_[i] + "'";
    if (a.dtype() != b.dtype() || a.shape() != b.shape())
      return what + " changed from " + std::string(dtype_name(a.dtype())) + shape_str(a.shape()) + " to " +
             dtype_name(b.dtype()) + shape_str(b.shape());
    if (a.dtype() == DType::String) {
      if (!(a == b)) return what + " changed";
      continue;
    }
    double scale = 1, worst = 0;
    int64_t worst_at = -1;
    for (int64_t j = 0; j < a.numel(); ++j) scale = std::max(scale, std::abs(a.at_double(j)));
    for (int64_t j = 0; j < a.numel(); ++j) {
      double x = a.at_double(j), y = b.at_double(j);
      if (std::isnan(x) && std::isnan(y)) continue;
      double d = std::abs(x - y);
      if (std::isnan(d) || d > worst) worst = std::isnan(d) ? INFINITY : d, worst_at = j;
    }
    if (worst > tolerance * scale) {
      std::ostringstream os;
      os << what << " differs by " << worst << " at element " << worst_at << " (expected "
         << a.at_double(worst_at) << ", got " << b.at_double(worst_at) << "; tolerance " << tolerance * scale << ")";
      return os.str();
    }
  }
  return "";
}

}  // namespace nnc
