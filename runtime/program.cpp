#include "runtime/program.h"

namespace nnc {

size_t Slot::bytes() const {
  size_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string Step::describe() const {
  std::string s;
  for (const Node* n : nodes) s += (s.empty() ? "" : " + ") + n->label();
  return s;
}

size_t Program::num_compiled_steps() const {
  size_t k = 0;
  for (const Step& s : steps) k += s.kernel != nullptr;
  return k;
}

std::vector<std::string> Program::fallback_nodes() const {
  std::vector<std::string> out;
  for (const Step& s : steps) if (!s.kernel) out.push_back(s.nodes[0]->label());
  return out;
}

}  // namespace nnc
