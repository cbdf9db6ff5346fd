#include "passes/gate_fusion.h"

#include <algorithm>
#include <string>
#include <vector>

#include "passes/pattern.h"

namespace nnc {
namespace {

// A static or symbolic dim: two equal ones are the same size. Unknown dims compare
// equal too, so they prove nothing.
bool is_known(const Dim& d) { return d.is_static() || !d.symbol.empty(); }

// a and b have the same, fully known shape, so a gate over them needs no broadcasting.
bool same_known_shape(const Value* a, const Value* b) {
  return a->dims && b->dims && *a->dims == *b->dims && std::all_of(a->dims->begin(), a->dims->end(), is_known);
}

// The Split cuts its input into two equal halves: no sizes given (equal parts), or two
// equal sizes, as an attribute (older opsets) or a constant input.
bool splits_in_halves(const Node* split) {
  if (split->outputs.size() != 2 || !split->outputs[0] || !split->outputs[1] || !split->input(0)) return false;
  std::vector<int64_t> sizes;
  if (split->attrs.has("split")) {
    sizes = split->attrs.get_ints("split");
  } else if (Value* s = split->input(1)) {
    const Tensor* t = constant_of(s);
    if (!t || !is_integer(t->dtype())) return false;
    sizes = t->to_int64s();
  } else {
    return true;  // an odd axis makes the halves' shapes differ, which the caller checks
  }
  return sizes.size() == 2 && sizes[0] == sizes[1];
}

// The Split when v = Sigmoid(b), b that Split's second half; v and b used only there.
Node* sigmoid_of_second_half(const Graph& g, Value* v) {
  Node* sig = producer_of(v, OpKind::Sigmoid);
  if (!sig || !has_single_use(g, v) || !has_single_use(g, sig->input(0))) return nullptr;
  Node* split = producer_of(sig->input(0), OpKind::Split);
  return split && splits_in_halves(split) && split->outputs[1] == sig->input(0) ? split : nullptr;
}

// GLU: Mul(a, Sigmoid(b)) with a, b the halves of Split(x) -> Gate(x) {Sigmoid, axis}.
bool fuse_glu(Graph& g, Node* mul) {
  auto m = match_either(mul, [&](Value* v) { return sigmoid_of_second_half(g, v) != nullptr; });
  if (!m) return false;
  Node* split = sigmoid_of_second_half(g, m->first);
  Value* a = split->outputs[0];
  if (m->second != a || !has_single_use(g, a) || !same_known_shape(a, split->outputs[1])) return false;
  Attributes attrs;
  attrs.set("activation", std::string("Sigmoid"));
  attrs.set("axis", split->attrs.get_int("axis", 0));
  replace_result(g, mul->outputs[0], OpKind::Gate, {split->input(0)}, std::move(attrs));
  return true;
}

// v = act(a) for an activation a two-input Gate applies, used only by the gate's Mul.
bool is_gate_activation(const Graph& g, Value* v) {
  const Node* act = v->producer;
  if (!act || act->removed || !has_single_use(g, v) || !act->input(0)) return false;
  return act->op == OpKind::Silu || act->op == OpKind::Gelu || act->op == OpKind::GeluTanh;
}

// SwiGLU / GeGLU: Mul(act(a), b) in either order -> Gate(b, a) {act}.
bool fuse_activation_gate(Graph& g, Node* mul) {
  auto m = match_either(mul, [&](Value* v) { return is_gate_activation(g, v); });
  if (!m) return false;
  Node* act = m->first->producer;
  Value* a = act->input(0);
  Value* b = m->second;
  if (!same_known_shape(a, b)) return false;
  Attributes attrs;
  attrs.set("activation", std::string(op_name(act->op)));
  replace_result(g, mul->outputs[0], OpKind::Gate, {b, a}, std::move(attrs));
  return true;
}

}  // namespace

bool fuse_gates(Graph& g, const PassOptions&) {
  bool changed = false;
  for (Node* n : g.topological_order()) {
    if (n->removed || n->op != OpKind::Mul || n->outputs.empty() || !n->outputs[0]) continue;
    changed |= fuse_glu(g, n) || fuse_activation_gate(g, n);
  }
  return changed;
}

}  // namespace nnc
