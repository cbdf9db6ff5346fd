#include "passes/epilogue_fusion.h"

#include <cmath>

#include "passes/pattern.h"

namespace nnc {
namespace {

// The fused op extending a producer, or Unsupported when the producer cannot take an epilogue.
OpKind fused_form(OpKind op) {
  for (int i = 0; i < op_count(); ++i) {
    const OpInfo& info = op_info(static_cast<OpKind>(i));
    if (info.category == OpCategory::Fused && info.fused_base == op) return info.kind;
  }
  return OpKind::Unsupported;
}

struct Producer {
  Node* node = nullptr;
  OpKind fused = OpKind::Unsupported;
  size_t arity = 0;       // the base op's input count
  bool has_residual = false;
  bool has_activation = false;
};

// Describes v's producer when it is a Conv/ConvTranspose/Gemm/MatMul/Add, plain or fused,
// whose only use is the node being fused into it.
std::optional<Producer> fusable_producer(const Graph& g, const Value* v) {
  Node* p = v && v->producer && !v->producer->removed ? v->producer : nullptr;
  if (!p || p->outputs.size() != 1 || !has_single_use(g, v)) return std::nullopt;
  const OpInfo& info = op_info(p->op);
  Producer r{p};
  if (info.category == OpCategory::Fused) {
    r.fused = p->op, r.arity = static_cast<size_t>(info.fused_base_arity);
    r.has_residual = p->input(r.arity) != nullptr;
    r.has_activation = !p->attrs.get_string("activation", "").empty();
  } else {
    r.fused = fused_form(p->op);
    if (r.fused == OpKind::Unsupported) return std::nullopt;
    r.arity = static_cast<size_t>(op_info(r.fused).fused_base_arity);
  }
  return r;
}

// The producer's inputs laid out as its fused form wants them: base inputs, then Z.
std::vector<Value*> fused_inputs(const Producer& p) {
  std::vector<Value*> in(p.arity + 1, nullptr);
  for (size_t i = 0; i < in.size() && i < p.node->inputs.size(); ++i) in[i] = p.node->inputs[i];
  return in;
}

bool same_dims(const Value* a, const Value* b) { return a->dims && b->dims && *a->dims == *b->dims; }

// Add(P(...), Z) -> FusedP(..., Z)
bool absorb_add(Graph& g, Node* add) {
  for (int side = 0; side < 2; ++side) {
    Value *mine = add->input(side), *z = add->input(1 - side);
    auto p = fusable_producer(g, mine);
    if (!p || !z || p->fused == OpKind::FusedAdd || p->has_residual || p->has_activation) continue;
    if (!same_dims(mine, add->outputs[0])) continue;  // Z must not broadcast P's result
    std::vector<Value*> in = fused_inputs(*p);
    in[p->arity] = z;
    replace_result(g, add->outputs[0], p->fused, in, p->node->attrs, p->node->name);
    return true;
  }
  return false;
}

// The epilogue attributes for an activation node, or nullopt when it cannot be fused.
std::optional<Attributes> activation_attrs(const Node& act) {
  Attributes a;
  a.set("activation", act.op_type);
  const OpInfo& info = op_info(act.op);
  if (act.op == OpKind::Clip) {  // bounds must be constant scalars
    auto bound = [&](size_t i, double none) -> std::optional<double> {
      if (!act.input(i)) return none;
      return scalar_constant(act.input(i));
    };
    auto lo = bound(1, -INFINITY), hi = bound(2, INFINITY);
    if (!lo || !hi) return std::nullopt;
    a.set("activation_alpha", static_cast<float>(*lo));
    a.set("activation_beta", static_cast<float>(*hi));
    return a;
  }
  if (act.op == OpKind::PRelu) return a;
  if (info.category != OpCategory::Activation) return std::nullopt;
  if (*info.attr_a) a.set("activation_alpha", act.attrs.get_float(info.attr_a, static_cast<float>(info.default_a)));
  if (*info.attr_b) a.set("activation_beta", act.attrs.get_float(info.attr_b, static_cast<float>(info.default_b)));
  return a;
}

// Act(P(...)) -> FusedP(...) {activation = Act}
bool absorb_activation(Graph& g, Node* act) {
  auto epilogue = activation_attrs(*act);
  auto p = fusable_producer(g, act->input(0));
  if (!epilogue || !p || p->has_activation || !act->outputs[0]) return false;
  std::vector<Value*> in = fused_inputs(*p);
  if (act->op == OpKind::PRelu) in.push_back(act->input(1));
  while (!in.empty() && !in.back()) in.pop_back();
  Attributes attrs = p->node->attrs;
  for (auto& [k, v] : epilogue->all()) attrs.set(k, v);
  replace_result(g, act->outputs[0], p->fused, in, attrs, p->node->name);
  return true;
}

}  // namespace

bool fuse_epilogues(Graph& g, const PassOptions&) {
  bool changed = false;
  for (Node* n : g.topological_order()) {
    if (n->removed || n->outputs.empty()) continue;
    if (n->op == OpKind::Add) changed |= absorb_add(g, n);
    if (!n->removed) changed |= absorb_activation(g, n);
  }
  return changed;
}

}  // namespace nnc
