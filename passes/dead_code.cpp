#include "passes/dead_code.h"

#include <unordered_set>

namespace nnc {

bool eliminate_dead_code(Graph& g, const PassOptions&) {
  // Mark everything the outputs depend on, walking producers backwards.
  std::unordered_set<const Node*> live;
  std::vector<const Value*> work(g.outputs.begin(), g.outputs.end());
  while (!work.empty()) {
    const Value* v = work.back();
    work.pop_back();
    const Node* p = v ? v->producer : nullptr;
    if (!p || !live.insert(p).second) continue;
    for (const Value* in : p->inputs) work.push_back(in);
  }
  bool changed = false;
  for (Node* n : g.topological_order())
    if (!live.count(n)) g.remove_node(n), changed = true;
  size_t before = g.initializers.size();
  g.collect_garbage();  // drops the constants only dead nodes read
  return changed || g.initializers.size() != before;
}

}  // namespace nnc
