#include "passes/noop_removal.h"

#include <numeric>

#include "passes/pattern.h"

namespace nnc {
namespace {

// Makes the users of n's output `out` read `in` instead and drops n.
bool bypass(Graph& g, Node* n, Value* out, Value* in) {
  if (!in || !out || !g.replace_value(out, in)) return false;
  remove_if_unused(g, n);
  return true;
}

bool all_zero(const Tensor* t) {
  if (!t) return false;
  for (int64_t i = 0; i < t->numel(); ++i)
    if (t->at_double(i) != 0) return false;
  return true;
}

bool is_inference_dropout(const Graph& g, const Node& n) {
  const Value* mode = n.input(2);
  if (mode && (!constant_of(mode) || !all_zero(constant_of(mode)))) return false;
  const Value* mask = n.outputs.size() > 1 ? n.outputs[1] : nullptr;
  return !mask || (mask->users.empty() && !g.is_output(mask));
}

std::vector<int64_t> transpose_perm(const Node& n, size_t rank) {
  std::vector<int64_t> p = n.attrs.get_ints("perm");
  if (p.empty()) {
    p.resize(rank);
    std::iota(p.rbegin(), p.rend(), 0);  // ONNX's default: reverse the axes
  }
  return p;
}

bool merge_transposes(Graph& g, Node* outer) {
  Node* inner = producer_of(outer->input(0), OpKind::Transpose);
  const Value* x = inner ? inner->input(0) : nullptr;
  if (!x || !x->dims) return false;
  std::vector<int64_t> p = transpose_perm(*inner, x->dims->size()), q = transpose_perm(*outer, x->dims->size());
  if (p.size() != q.size()) return false;
  std::vector<int64_t> r(q.size());  // out[i] = in[p[q[i]]]
  bool identity = true;
  for (size_t i = 0; i < q.size(); ++i) {
    if (q[i] < 0 || q[i] >= static_cast<int64_t>(p.size())) return false;
    r[i] = p[q[i]];
    identity = identity && r[i] == static_cast<int64_t>(i);
  }
  if (identity) return bypass(g, outer, outer->outputs[0], inner->input(0));
  outer->attrs.set("perm", r);
  g.set_input(outer, 0, inner->input(0));
  remove_if_unused(g, inner);
  return true;
}

bool simplify_reshape(Graph& g, Node* n) {
  Value *x = n->input(0), *out = n->outputs[0];
  if (x && out && x->has_static_shape() && out->has_static_shape() && x->static_shape() == out->static_shape() &&
      !x->is_initializer())
    return bypass(g, n, out, x);
  Node* inner = producer_of(x, OpKind::Reshape);
  const Tensor* target = constant_of(n->input(1));
  if (!inner || !target) return false;
  // A 0 in the target copies a dim of the reshaped input, which the inner Reshape may change.
  if (!n->attrs.get_int("allowzero", 0))
    for (int64_t i = 0; i < target->numel(); ++i)
      if (target->at_double(i) == 0) return false;
  g.set_input(n, 0, inner->input(0));
  remove_if_unused(g, inner);
  return true;
}

bool remove_noop(Graph& g, Node* n) {
  Value* out = n->outputs.empty() ? nullptr : n->outputs[0];
  Value* x = n->input(0);
  switch (n->op) {
    case OpKind::Identity: return bypass(g, n, out, x);
    case OpKind::Dropout: return is_inference_dropout(g, *n) && bypass(g, n, out, x);
    case OpKind::Cast:
      return x && x->dtype != DType::Undefined && n->attrs.get_int("to", 0) == static_cast<int64_t>(x->dtype) &&
             bypass(g, n, out, x);
    case OpKind::Pad: return all_zero(constant_of(n->input(1))) && bypass(g, n, out, x);
    case OpKind::Reshape: return simplify_reshape(g, n);
    case OpKind::Transpose: return merge_transposes(g, n);
    default: return false;
  }
}

}  // namespace

bool remove_noops(Graph& g, const PassOptions&) {
  bool changed = false;
  for (Node* n : g.topological_order())
    if (!n->removed) changed |= remove_noop(g, n);
  return changed;
}

}  // namespace nnc
