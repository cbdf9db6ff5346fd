#include "passes/autodiff.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "ir/error.h"
#include "passes/pattern.h"

namespace nnc {

Value* GradientBuilder::op(OpKind kind, const std::vector<Value*>& inputs, const Value* like, Attributes attrs) {
  Node* n = g_.add_node(kind, inputs, 1, g_.unique_name(std::string("grad_") + op_name(kind)), std::move(attrs));
  Value* out = n->outputs[0];
  if (like) {
    out->dtype = like->dtype;
    out->dims = like->dims;
  }
  return out;
}

Value* GradientBuilder::op(OpKind kind, const std::vector<Value*>& inputs, DType dtype, Attributes attrs) {
  Value* out = op(kind, inputs, nullptr, std::move(attrs));
  out->dtype = dtype;
  return out;
}

Value* GradientBuilder::scalar(double v, const Value* like) {
  Tensor t(like->dtype, {});
  t.set_double(0, v);
  return add_constant(g_, "grad_const", std::move(t));
}

Value* GradientBuilder::filled_like(double v, const Value* like) {
  Value* shape = op(OpKind::Shape, {const_cast<Value*>(like)}, DType::Int64);
  Tensor fill(like->dtype, {1});
  fill.set_double(0, v);
  Attributes attrs;
  attrs.set("value", std::move(fill));
  return op(OpKind::ConstantOfShape, {shape}, like, std::move(attrs));
}

Value* GradientBuilder::unbroadcast(Value* grad, const Value* out, const Value* in) {
  if (out->dims && in->dims && *out->dims == *in->dims) return grad;
  if (!out->has_static_shape() || !in->has_static_shape())
    throw Error("autodiff: the gradient of broadcasting '" + in->name + "' to '" + out->name + "' needs static shapes");
  Shape os = out->static_shape(), is = in->static_shape();
  size_t lead = os.size() - is.size();
  std::vector<int64_t> axes;
  for (size_t i = 0; i < os.size(); ++i)
    if (i < lead || (is[i - lead] == 1 && os[i] != 1)) axes.push_back(static_cast<int64_t>(i));
  Value* summed = grad;
  if (!axes.empty()) {
    Value* ax = add_constant(g_, "grad_axes", Tensor::from_int64s(axes, {static_cast<int64_t>(axes.size())}));
    summed = op(OpKind::ReduceSum, {grad, ax}, in->dtype);
  }
  Value* shape = add_constant(g_, "grad_shape", Tensor::from_int64s(is, {static_cast<int64_t>(is.size())}));
  return op(OpKind::Reshape, {summed, shape}, in);
}

Value* GradientBuilder::ints(const std::vector<int64_t>& v) {
  return add_constant(g_, "grad_ints", Tensor::from_int64s(v, {static_cast<int64_t>(v.size())}));
}

Value* GradientBuilder::reshape(Value* v, const Shape& shape) {
  Value* out = op(OpKind::Reshape, {v, ints(shape)}, v->dtype);
  out->dims = Dims{};
  for (int64_t d : shape) out->dims->push_back(Dim::fixed(d));
  return out;
}

Value* GradientBuilder::reduce_sum(Value* v, const std::vector<int64_t>& axes, bool keepdims) {
  Attributes a;
  a.set("keepdims", int64_t{keepdims});
  std::vector<Value*> ins{v};
  if (!axes.empty()) ins.push_back(ints(axes));
  Value* out = op(OpKind::ReduceSum, ins, v->dtype, std::move(a));
  if (v->dims) {  // the result's dims: reduced axes kept as 1 or dropped
    int64_t rank = static_cast<int64_t>(v->dims->size());
    out->dims = Dims{};
    for (int64_t i = 0; i < rank; ++i) {
      bool reduced = axes.empty() || std::any_of(axes.begin(), axes.end(), [&](int64_t a) { return a == i || a + rank == i; });
      if (!reduced) out->dims->push_back((*v->dims)[static_cast<size_t>(i)]);
      else if (keepdims) out->dims->push_back(Dim::fixed(1));
    }
  }
  return out;
}

Value* GradientBuilder::transpose_last2(Value* v, const Value* like) {
  if (!like->dims || like->dims->size() < 2)
    throw Error("autodiff: MatMul's gradient needs operands of known rank >= 2 ('" + like->name + "')");
  std::vector<int64_t> perm(like->dims->size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  Attributes attrs;
  attrs.set("perm", perm);
  return op(OpKind::Transpose, {v}, like->dtype, std::move(attrs));
}

std::vector<Value*> build_gradients(Graph& g, Value* y, const std::vector<Value*>& xs, Value* dy) {
  std::vector<Node*> order = g.topological_order();
  // Values that depend on some x, and values y depends on: only nodes in both get rules.
  std::unordered_set<const Value*> from_x(xs.begin(), xs.end()), to_y{y};
  for (const Node* n : order)
    for (const Value* in : n->inputs)
      if (in && from_x.count(in)) {
        for (const Value* out : n->outputs) if (out) from_x.insert(out);
        break;
      }
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (std::any_of((*it)->outputs.begin(), (*it)->outputs.end(), [&](const Value* v) { return v && to_y.count(v); }))
      for (const Value* in : (*it)->inputs) if (in) to_y.insert(in);

  GradientBuilder b(g);
  std::unordered_map<const Value*, Value*> grads;
  grads[y] = dy ? dy : b.filled_like(1.0, y);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node& n = **it;
    std::vector<Value*> out_grads;
    bool any = false;
    for (const Value* out : n.outputs) {
      auto g_it = out ? grads.find(out) : grads.end();
      out_grads.push_back(g_it == grads.end() ? nullptr : g_it->second);
      any |= out_grads.back() != nullptr;
    }
    bool wanted = std::any_of(n.inputs.begin(), n.inputs.end(), [&](const Value* v) { return v && from_x.count(v) && to_y.count(v); });
    if (!any || !wanted) continue;
    std::vector<Value*> in_grads = gradient_of(b, n, out_grads);
    for (size_t i = 0; i < n.inputs.size() && i < in_grads.size(); ++i) {
      const Value* in = n.inputs[i];
      if (!in || !in_grads[i] || !from_x.count(in)) continue;
      auto [slot, fresh] = grads.emplace(in, in_grads[i]);
      if (!fresh) slot->second = b.add(slot->second, in_grads[i], in);  // reached along several paths
    }
  }
  std::vector<Value*> result;
  for (Value* x : xs) {
    auto it = grads.find(x);
    result.push_back(it != grads.end() ? it->second : b.filled_like(0.0, x));
  }
  return result;
}

bool expand_gradient_ops(Graph& g) {
  std::vector<Node*> gradient_nodes;
  for (const auto& n : g.nodes())
    if (n->op_type == "Gradient" && n->domain == "ai.onnx.preview.training") gradient_nodes.push_back(n.get());
  for (Node* n : gradient_nodes) {
    auto find = [&](const std::string& name) {
      Value* v = g.find_value(name);
      if (!v) throw Error(n->label() + ": no value named '" + name + "' in the graph");
      return v;
    };
    auto xs_it = n->attrs.all().find("xs");
    const auto* xs_attr = xs_it == n->attrs.all().end() ? nullptr : std::get_if<std::vector<std::string>>(&xs_it->second);
    if (!xs_attr || !n->attrs.has("y")) throw Error(n->label() + ": needs the attributes xs and y");
    std::vector<Value*> xs;
    for (const std::string& name : *xs_attr) xs.push_back(find(name));
    if (xs.size() != n->outputs.size())
      throw Error(n->label() + ": has " + std::to_string(n->outputs.size()) + " outputs for " + std::to_string(xs.size()) + " xs");
    std::vector<Value*> grads = build_gradients(g, find(n->attrs.get_string("y", "")), xs);
    std::vector<Value*> outs = n->outputs;
    g.remove_node(n);
    for (size_t i = 0; i < outs.size(); ++i) {
      if (!outs[i]) continue;
      if (g.replace_value(outs[i], grads[i])) continue;
      // The gradient is already an input or an output (e.g. shared by two xs): copy it.
      g.replace_value(outs[i], GradientBuilder(g).op(OpKind::Identity, {grads[i]}, grads[i]));
    }
  }
  if (gradient_nodes.empty()) return false;
  g.collect_garbage();
  g.sort_topologically();
  return true;
}

}  // namespace nnc
