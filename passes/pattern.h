// Helpers for the pattern-matching passes: look at producers and constants, and replace a
// subgraph's result with a new node's while keeping value names (and so the model's
// interface) intact.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace nnc {

// v's producer when it is a live `op` node, else nullptr (also for v == nullptr).
Node* producer_of(const Value* v, OpKind op);
// v is read by exactly one node input and is not a graph output.
bool has_single_use(const Graph& g, const Value* v);
// The data of a constant value (an initializer), or nullptr.
const Tensor* constant_of(const Value* v);
// The value of a constant holding exactly one element.
std::optional<double> scalar_constant(const Value* v);
// A one-element constant equal to `expected` within a relative tolerance.
bool is_scalar_constant(const Value* v, double expected, double rel_tol = 1e-4);
// For a two-input node: the (matching, other) inputs when either input satisfies pred.
template <class Pred>
std::optional<std::pair<Value*, Value*>> match_either(const Node* n, Pred pred) {
  if (!n || n->inputs.size() != 2 || !n->inputs[0] || !n->inputs[1]) return std::nullopt;
  if (pred(n->inputs[0])) return std::make_pair(n->inputs[0], n->inputs[1]);
  if (pred(n->inputs[1])) return std::make_pair(n->inputs[1], n->inputs[0]);
  return std::nullopt;
}

// Random ops (and Dropout) give different results each run: never folded or merged.
bool is_nondeterministic(const Node& n);
// A new initializer named after `base`.
Value* add_constant(Graph& g, const std::string& base, Tensor t);
// A new single-output node computing what `old_result` computed: every use of old_result,
// its place among the graph outputs and its name move to the new node's output,
// which takes over old_result's dtype and dims. The nodes that only fed old_result are
// removed. Returns the new node.
Node* replace_result(Graph& g, Value* old_result, OpKind op, const std::vector<Value*>& inputs,
                     Attributes attrs = {}, const std::string& name = {});
// Removes n if none of its outputs is used or a graph output, then its producers likewise.
void remove_if_unused(Graph& g, Node* n);

}  // namespace nnc
