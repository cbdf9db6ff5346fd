#include "passes/constant_folding.h"

#include <algorithm>
#include <optional>

#include "passes/pattern.h"
#include "runtime/ref/kernel.h"

namespace nnc {
namespace {

// An upper bound on the output bytes of a node whose inputs are all constant, computed
// without running it: broadcasting for element-wise ops, the input size for ops that
// only move data. -1 for ops whose output may be much larger than their inputs (Expand,
// Tile, ConstantOfShape, Range, Pad, Resize, MatMul...): those are folded only when
// shape inference already gave their output a static shape.
int64_t bound_without_running(const Node& n) {
  OpCategory c = op_info(n.op).category;
  bool elementwise = c == OpCategory::Elementwise || c == OpCategory::Activation;
  bool same_size = n.op == OpKind::Reshape || n.op == OpKind::Transpose || n.op == OpKind::Squeeze ||
                   n.op == OpKind::Unsqueeze || n.op == OpKind::Flatten || c == OpCategory::Reduction ||
                   n.op == OpKind::Concat || n.op == OpKind::Slice ||
                   n.op == OpKind::Split || n.op == OpKind::Shape || n.op == OpKind::Size;
  if (!elementwise && !same_size) return -1;
  double total = 0;
  Shape out;  // the broadcast shape of the inputs
  for (const Value* v : n.inputs) {
    if (!v) continue;
    const Shape& s = v->initializer->shape();
    total += static_cast<double>(v->initializer->nbytes());
    if (out.size() < s.size()) out.insert(out.begin(), s.size() - out.size(), 1);
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[out.size() - s.size() + i];
      o = std::max(o, s[i]);
    }
  }
  if (elementwise) {
    total = 8;  // the widest element
    for (int64_t d : out) total *= static_cast<double>(d);
  }
  return total > 1e18 ? int64_t{1} << 60 : static_cast<int64_t>(total);
}

// Bytes of a value when its shape is known, else -1.
int64_t known_bytes(const Value* v) {
  if (!v || !v->has_static_shape() || v->dtype == DType::Undefined || v->dtype == DType::String) return -1;
  double bytes = static_cast<double>(dtype_size(v->dtype));
  for (int64_t d : v->static_shape()) bytes *= static_cast<double>(d);
  return bytes > 1e18 ? int64_t{1} << 60 : static_cast<int64_t>(bytes);
}

// Shape/Size of a value with a static shape, computed from the declared dims (never
// touching the data, which may not be constant).
std::optional<Tensor> fold_shape_query(const Node& n) {
  const Value* x = n.input(0);
  if (!x || !x->has_static_shape()) return std::nullopt;
  Shape s = x->static_shape();
  if (n.op == OpKind::Size) return Tensor::from_int64s({checked_numel(s, "Size")}, {});
  int64_t r = static_cast<int64_t>(s.size());
  auto clamp = [r](int64_t i) { return std::clamp(i < 0 ? i + r : i, int64_t{0}, r); };
  int64_t start = clamp(n.attrs.get_int("start", 0)), end = clamp(n.attrs.get_int("end", r));
  std::vector<int64_t> dims(s.begin() + start, s.begin() + std::max(start, end));
  return Tensor::from_int64s(dims, {static_cast<int64_t>(dims.size())});
}

bool all_inputs_constant(const Node& n) {
  for (const Value* v : n.inputs)
    if (v && !v->initializer) return false;
  return true;
}

std::optional<Tensors> evaluate(Graph& g, Node& n) {
  KernelContext ctx{n, {}, g.opset};
  for (const Value* v : n.inputs) ctx.inputs.push_back(v ? v->initializer.get() : nullptr);
  try {
    return ref_kernel(n.op)(ctx);
  } catch (const Error&) {
    return std::nullopt;  // left in place: running the model reports the problem
  }
}

}  // namespace

bool fold_constants(Graph& g, const PassOptions& opts) {
  int64_t model_bytes = 0;
  for (const Value* v : g.initializers) model_bytes += static_cast<int64_t>(v->initializer->nbytes());
  int64_t allowance = 4 * opts.fold_budget_bytes + model_bytes;  // proportional to the file's own weights
  bool changed = false;
  for (Node* n : g.topological_order()) {
    if (n->removed || !ref_kernel(n->op) || is_nondeterministic(*n) || n->outputs.empty()) continue;
    std::optional<Tensors> results;
    if ((n->op == OpKind::Shape || n->op == OpKind::Size) && n->outputs.size() == 1) {
      if (auto t = fold_shape_query(*n)) results = Tensors{std::move(*t)};
    } else {
      if (!all_inputs_constant(*n)) continue;
      int64_t bound = 0;
      for (const Value* v : n->outputs) {
        int64_t b = known_bytes(v);
        if (v && (b < 0 || bound < 0)) bound = -1;
        else bound += std::max<int64_t>(b, 0);
      }
      if (bound < 0) bound = bound_without_running(*n);
      if (bound < 0 || bound > opts.fold_budget_bytes || bound > allowance) continue;
      results = evaluate(g, *n);
    }
    if (!results || results->size() < n->outputs.size()) continue;
    int64_t bytes = 0;
    for (const Tensor& t : *results) bytes += static_cast<int64_t>(t.nbytes());
    if (bytes > opts.fold_budget_bytes || bytes > allowance) continue;
    allowance -= bytes;
    // The outputs become initializers under their own names.
    std::vector<Value*> outs = n->outputs;
    g.remove_node(n);
    for (size_t i = 0; i < outs.size(); ++i) {
      Value* v = outs[i];
      if (!v) continue;
      Tensor& t = (*results)[i];
      v->dtype = t.dtype();
      v->dims = Dims{};
      for (int64_t d : t.shape()) v->dims->push_back(Dim::fixed(d));
      v->initializer = std::make_shared<const Tensor>(std::move(t));
      g.initializers.push_back(v);
    }
    changed = true;
  }
  return changed;
}

}  // namespace nnc
