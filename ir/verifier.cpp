#include "ir/verifier.h"

#include <onnx/defs/schema.h>

#include <unordered_map>
#include <unordered_set>

#include "ir/error.h"

namespace nnc {

// Arity comes from ONNX's own schema for standard ops; nnc-domain ops are checked by
// their kernels.
static void check_arity(const Graph& g, const Node& n) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return;
  const auto* schema = onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(g.opset), "");
  if (!schema) throw Error(n.label() + ": no ONNX schema for opset " + std::to_string(g.opset));
  int nin = static_cast<int>(n.num_explicit_inputs()), nout = static_cast<int>(n.outputs.size());
  if (nin < schema->min_input() || nin > schema->max_input())
    throw Error(n.label() + ": has " + std::to_string(nin) + " inputs, expected " +
                std::to_string(schema->min_input()) + ".." + std::to_string(schema->max_input()));
  if (nout < schema->min_output() || nout > schema->max_output())
    throw Error(n.label() + ": has " + std::to_string(nout) + " outputs, expected " +
                std::to_string(schema->min_output()) + ".." + std::to_string(schema->max_output()));
}

// Subgraphs are verified with their captures available, and named by their owner's path.
static void verify_subgraphs(const Node& n) {
  size_t captured = 0;
  for (const auto& [attr, sub] : n.subgraphs()) captured += sub->captures.size();
  if (captured != n.num_captured)
    throw Error(n.label() + ": its subgraphs capture " + std::to_string(captured) + " values, the node binds " +
                std::to_string(n.num_captured));
  for (const auto& [attr, sub] : n.subgraphs()) {
    try {
      verify_graph(*sub);
    } catch (const Error& e) {
      throw Error(n.label() + " " + attr + ": " + e.what());
    }
  }
}

void verify_graph(const Graph& g) {
  std::unordered_set<const Value*> available;
  for (const Value* v : g.inputs) available.insert(v);
  for (const Value* v : g.captures) available.insert(v);
  for (const Value* v : g.initializers) {
    if (!v->initializer) throw Error("initializer '" + v->name + "' has no data");
    available.insert(v);
  }
  for (const Node* n : g.topological_order()) {  // throws on a cycle
    check_arity(g, *n);
    verify_subgraphs(*n);
    for (const Value* v : n->inputs)
      if (v && !available.count(v))
        throw Error(n->label() + ": input '" + v->name + "' is not produced by any node, graph input or initializer");
    for (const Value* v : n->outputs) {
      if (!v) continue;
      if (v->producer != n) throw Error(n->label() + ": output '" + v->name + "' has another producer");
      if (!available.insert(v).second) throw Error("value '" + v->name + "' is defined twice");
    }
  }
  // Use lists must match the nodes' inputs (passes rely on them).
  std::unordered_map<const Value*, size_t> uses;
  for (const auto& n : g.nodes())
    for (const Value* v : n->inputs) if (v) ++uses[v];
  for (const auto& [v, count] : uses)
    if (v->users.size() != count) throw Error("value '" + v->name + "' has a stale use list");
  for (const Value* v : g.outputs)
    if (!available.count(v)) throw Error("graph output '" + v->name + "' is never produced");
  if (g.captures.empty())  // (a subgraph's inputs, e.g. a loop body's, may leave their types to inference)
    for (const Value* v : g.inputs)
      if (v->dtype == DType::Undefined) throw Error("graph input '" + v->name + "' has no element type");
}

}  // namespace nnc
