#include "passes/pattern.h"

#include <cmath>

#include "ir/error.h"

namespace nnc {

Node* producer_of(const Value* v, OpKind op) {
  if (!v || !v->producer || v->producer->removed || v->producer->op != op) return nullptr;
  return v->producer;
}

bool has_single_use(const Graph& g, const Value* v) { return v && v->users.size() == 1 && !g.is_output(v); }

const Tensor* constant_of(const Value* v) { return v && v->initializer ? v->initializer.get() : nullptr; }

std::optional<double> scalar_constant(const Value* v) {
  const Tensor* t = constant_of(v);
  if (!t || t->numel() != 1 || t->dtype() == DType::String) return std::nullopt;
  return t->at_double(0);
}

bool is_scalar_constant(const Value* v, double expected, double rel_tol) {
  auto s = scalar_constant(v);
  return s && std::abs(*s - expected) <= rel_tol * std::max(1.0, std::abs(expected));
}

bool is_nondeterministic(const Node& n) {
  return n.op_type.rfind("Random", 0) == 0 || n.op_type == "Bernoulli" || n.op_type == "Multinomial" ||
         n.op == OpKind::Dropout;
}

Value* add_constant(Graph& g, const std::string& base, Tensor t) {
  return g.add_initializer(g.unique_name(base), std::move(t));
}

Node* replace_result(Graph& g, Value* old_result, OpKind op, const std::vector<Value*>& inputs, Attributes attrs,
                     const std::string& name) {
  Node* old = old_result->producer;
  Node* n = g.add_node(op, inputs, 1, name.empty() ? g.unique_name(op_name(op)) : name, std::move(attrs));
  Value* out = n->outputs[0];
  out->dtype = old_result->dtype;
  out->dims = old_result->dims;
  std::string name_kept = old_result->name;
  if (!g.replace_value(old_result, out)) throw Error("internal: cannot replace '" + old_result->name + "'");
  if (out->name != name_kept) {  // the result keeps its name; the dead value gets a fresh one
    old_result->name = g.unique_name(name_kept + "_old");
    out->name = name_kept;
  }
  if (old) remove_if_unused(g, old);
  return n;
}

void remove_if_unused(Graph& g, Node* n) {
  if (!n || n->removed) return;
  for (const Value* v : n->outputs)
    if (v && (!v->users.empty() || g.is_output(v))) return;
  std::vector<Value*> inputs = n->inputs;
  g.remove_node(n);
  for (Value* v : inputs)
    if (v && v->producer) remove_if_unused(g, v->producer);
}

}  // namespace nnc
