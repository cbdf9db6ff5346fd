#include "ir/graph.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "ir/error.h"

namespace nnc {

std::string dims_str(const Dims& d) {
  std::string r = "[";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i) r += ",";
    r += d[i].is_static() ? std::to_string(d[i].value) : (d[i].symbol.empty() ? "?" : d[i].symbol);
  }
  return r + "]";
}

bool Value::has_static_shape() const {
  if (initializer) return true;
  if (!dims) return false;
  for (auto& d : *dims) if (!d.is_static()) return false;
  return true;
}

Shape Value::static_shape() const {
  if (initializer) return initializer->shape();
  if (!has_static_shape()) throw Error("value '" + name + "' has no static shape");
  Shape s;
  for (auto& d : *dims) s.push_back(d.value);
  return s;
}

std::string Value::type_str() const {
  std::string s = dtype_name(dtype);
  s += dims ? dims_str(*dims) : "[?]";
  if (kind == TypeKind::Sequence) s = "seq(" + s + ")";
  return optional ? "optional(" + s + ")" : s;
}

std::vector<std::pair<std::string, const Graph*>> Node::subgraphs() const {
  std::vector<std::pair<std::string, const Graph*>> out;
  for (const auto& [name, value] : attrs.all())
    if (auto* g = std::get_if<std::shared_ptr<Graph>>(&value); g && *g) out.emplace_back(name, g->get());
  return out;
}

std::string Node::label() const {
  return (op == OpKind::Unsupported ? op_type : std::string(op_name(op))) + " '" + name + "'";
}

Value* Graph::add_value(const std::string& name, DType dtype, std::optional<Dims> dims) {
  auto v = std::make_unique<Value>();
  v->name = name.empty() ? unique_name("v") : name;
  v->dtype = dtype;
  v->dims = std::move(dims);
  values_.push_back(std::move(v));
  return values_.back().get();
}

Value* Graph::add_input(const std::string& name, DType dtype, Dims dims) {
  Value* v = add_value(name, dtype, std::move(dims));
  inputs.push_back(v);
  return v;
}

Value* Graph::add_initializer(const std::string& name, Tensor t) {
  Dims dims;
  for (int64_t d : t.shape()) dims.push_back(Dim::fixed(d));
  Value* v = add_value(name, t.dtype(), dims);
  v->initializer = std::make_shared<const Tensor>(std::move(t));
  initializers.push_back(v);
  return v;
}

Value* Graph::add_capture(const std::string& name) {
  Value* v = add_value(name);
  captures.push_back(v);
  return v;
}

Node* Graph::add_node(OpKind op, const std::vector<Value*>& ins, int num_outputs, const std::string& name,
                      Attributes attrs) {
  auto n = std::make_unique<Node>();
  n->op = op;
  n->op_type = op_name(op);
  n->domain = op_info(op).domain;
  n->name = name.empty() ? unique_name(std::string(op_name(op))) : name;
  n->inputs = ins;
  n->attrs = std::move(attrs);
  for (Value* v : ins) if (v) v->users.push_back(n.get());
  for (int i = 0; i < num_outputs; ++i) {
    Value* out = add_value(num_outputs == 1 ? n->name + "_out" : n->name + "_out" + std::to_string(i));
    out->producer = n.get();
    n->outputs.push_back(out);
  }
  nodes_.push_back(std::move(n));
  return nodes_.back().get();
}

Node* Graph::add_unsupported_node(const std::string& domain, const std::string& op_type,
                                  const std::vector<Value*>& ins, const std::vector<Value*>& outs,
                                  const std::string& name) {
  auto n = std::make_unique<Node>();
  n->op = OpKind::Unsupported;
  n->op_type = op_type;
  n->domain = domain;
  n->name = name;
  n->inputs = ins;
  for (Value* v : ins) if (v) v->users.push_back(n.get());
  nodes_.push_back(std::move(n));
  Node* node = nodes_.back().get();
  for (size_t i = 0; i < outs.size(); ++i) set_producer(node, static_cast<int>(i), outs[i]);
  return node;
}

void Graph::set_producer(Node* n, int index, Value* v) {
  if (static_cast<int>(n->outputs.size()) <= index) n->outputs.resize(index + 1, nullptr);
  n->outputs[index] = v;
  if (v) {
    if (v->producer && v->producer != n) throw Error("value '" + v->name + "' is produced by two nodes");
    v->producer = n;
  }
}

Value* Graph::find_value(const std::string& name) const {
  for (auto& v : values_) if (v->name == name) return v.get();
  return nullptr;
}

std::vector<Node*> Graph::topological_order() const {
  std::unordered_map<const Node*, int> pending;
  std::deque<Node*> ready;
  for (auto& n : nodes_) {
    int deps = 0;
    for (Value* v : n->inputs) if (v && v->producer) ++deps;
    pending[n.get()] = deps;
    if (deps == 0) ready.push_back(n.get());
  }
  std::vector<Node*> order;
  while (!ready.empty()) {
    Node* n = ready.front();
    ready.pop_front();
    order.push_back(n);
    for (Value* out : n->outputs) {
      if (!out) continue;
      for (Node* u : out->users)
        if (--pending[u] == 0) ready.push_back(u);
    }
  }
  if (order.size() != nodes_.size()) {
    for (auto& n : nodes_)
      if (pending[n.get()] > 0) throw Error("graph has a cycle through node " + n->label());
  }
  return order;
}

void Graph::sort_topologically() {
  std::vector<Node*> order = topological_order();
  std::unordered_map<Node*, size_t> pos;
  for (size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
  std::vector<std::unique_ptr<Node>> sorted(nodes_.size());
  for (auto& n : nodes_) sorted[pos[n.get()]] = std::move(n);
  nodes_ = std::move(sorted);
}

bool Graph::is_output(const Value* v) const {
  return std::find(outputs.begin(), outputs.end(), v) != outputs.end();
}

void Graph::set_input(Node* n, size_t i, Value* v) {
  if (n->inputs.size() <= i) n->inputs.resize(i + 1, nullptr);
  if (Value* old = n->inputs[i]) {
    auto it = std::find(old->users.begin(), old->users.end(), n);
    if (it != old->users.end()) old->users.erase(it);
  }
  n->inputs[i] = v;
  if (v) v->users.push_back(n);
}

bool Graph::replace_value(Value* from, Value* to) {
  if (from == to) return true;
  if (is_output(from)) {
    bool is_input = std::find(inputs.begin(), inputs.end(), to) != inputs.end();
    if (is_input || to->is_initializer() || is_output(to)) return false;
    to->name = from->name;
    from->name = unique_name(from->name + "_replaced");
    std::replace(outputs.begin(), outputs.end(), from, to);
  }
  for (Node* u : std::vector<Node*>(from->users))
    for (size_t i = 0; i < u->inputs.size(); ++i)
      if (u->inputs[i] == from) set_input(u, i, to);
  return true;
}

void Graph::remove_node(Node* n) {
  for (size_t i = 0; i < n->inputs.size(); ++i) set_input(n, i, nullptr);
  for (Value* out : n->outputs)
    if (out && out->producer == n) out->producer = nullptr;
  n->outputs.clear();
  n->removed = true;
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [n](auto& p) { return p.get() == n; });
  if (it == nodes_.end()) return;
  removed_nodes_.push_back(std::move(*it));
  nodes_.erase(it);
}

void Graph::collect_garbage() {
  removed_nodes_.clear();
  auto unused = [&](const Value* v) {
    return !v->producer && v->users.empty() && !is_output(v) &&
           std::find(inputs.begin(), inputs.end(), v) == inputs.end() &&
           std::find(captures.begin(), captures.end(), v) == captures.end();
  };
  initializers.erase(std::remove_if(initializers.begin(), initializers.end(), unused), initializers.end());
  values_.erase(std::remove_if(values_.begin(), values_.end(), [&](auto& v) { return unused(v.get()); }),
                values_.end());
}

std::string Graph::unique_name(const std::string& base) {
  for (;;) {
    std::string cand = base + "_" + std::to_string(name_counter_++);
    if (!find_value(cand)) return cand;
  }
}

}  // namespace nnc
