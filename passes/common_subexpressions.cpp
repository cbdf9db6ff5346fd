#include "passes/common_subexpressions.h"

#include <map>
#include <sstream>

#include "passes/pattern.h"

namespace nnc {
namespace {

constexpr size_t kMaxMergedConstantBytes = 4096;

bool merge_equal_constants(Graph& g) {
  std::map<std::string, Value*> seen;  // dtype, shape and bytes -> first such constant
  bool changed = false;
  for (Value* v : std::vector<Value*>(g.initializers)) {
    const Tensor& t = *v->initializer;
    if (t.dtype() == DType::String || t.nbytes() > kMaxMergedConstantBytes) continue;
    std::string key = std::string(dtype_name(t.dtype())) + shape_str(t.shape()) +
                      std::string(reinterpret_cast<const char*>(t.raw()), t.nbytes());
    auto [it, fresh] = seen.emplace(key, v);
    if (!fresh && !g.is_output(v)) changed |= g.replace_value(v, it->second);
  }
  return changed;
}

std::string signature(const Node& n) {
  std::ostringstream os;
  os << n.domain << "." << n.op_type << "(";
  for (const Value* v : n.inputs) os << static_cast<const void*>(v) << ",";
  os << ")" << n.outputs.size();
  return os.str();
}

}  // namespace

bool eliminate_common_subexpressions(Graph& g, const PassOptions&) {
  bool changed = merge_equal_constants(g);
  std::map<std::string, std::vector<Node*>> seen;
  for (Node* n : g.topological_order()) {
    if (n->removed || is_nondeterministic(*n) || n->outputs.empty()) continue;
    auto& candidates = seen[signature(*n)];
    Node* twin = nullptr;
    for (Node* c : candidates)
      if (!c->removed && c->op_type == n->op_type && c->attrs == n->attrs) twin = c;
    if (!twin) {
      candidates.push_back(n);
      continue;
    }
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      Value *mine = n->outputs[i], *theirs = twin->outputs[i];
      if (mine && theirs && g.replace_value(mine, theirs)) changed = true;
    }
    remove_if_unused(g, n);
  }
  return changed;
}

}  // namespace nnc
