#include "runtime/interpreter.h"

#include <unordered_map>

#include "runtime/ref/kernel.h"

namespace nnc {
namespace {

void check_input(const Value& v, const Tensor& t) {
  if (t.dtype() != v.dtype)
    throw Error(std::string("input '") + v.name + "' expects " + dtype_name(v.dtype) + ", got " + dtype_name(t.dtype()),
                ErrorKind::Runtime);
  if (!v.dims) return;
  if (v.dims->size() != t.shape().size())
    throw Error("input '" + v.name + "' expects shape " + dims_str(*v.dims) + ", got " + shape_str(t.shape()),
                ErrorKind::Runtime);
  for (size_t i = 0; i < t.shape().size(); ++i)
    if ((*v.dims)[i].is_static() && (*v.dims)[i].value != t.shape()[i])
      throw Error("input '" + v.name + "' expects shape " + dims_str(*v.dims) + ", got " + shape_str(t.shape()),
                ErrorKind::Runtime);
}

}  // namespace

std::vector<std::string> unsupported_nodes(const Graph& g) {
  std::vector<std::string> out;
  for (const auto& n : g.nodes())
    if (!ref_kernel(n->op)) out.push_back(n->label() + (n->domain.empty() ? "" : " (domain " + n->domain + ")"));
  return out;
}

std::vector<Tensor> run_reference(const Graph& g, const TensorMap& inputs) {
  std::unordered_map<const Value*, Tensor> env;
  for (const Value* v : g.inputs) {
    auto it = inputs.find(v->name);
    if (it == inputs.end()) throw Error("no data for graph input '" + v->name + "'", ErrorKind::Runtime);
    check_input(*v, it->second);
    env[v] = it->second;
  }
  for (const Value* v : g.initializers) env[v] = *v->initializer;

  std::vector<Node*> order = g.topological_order();
  // Remaining uses of each value, so intermediates are freed after their last use.
  std::unordered_map<const Value*, size_t> uses;
  for (const Node* n : order) for (const Value* v : n->inputs) if (v) ++uses[v];
  for (const Value* v : g.outputs) ++uses[v];

  for (const Node* n : order) {
    RefKernel kernel = ref_kernel(n->op);
    if (!kernel) throw Error(n->label() + ": op " + n->op_type + " is not supported by the reference interpreter");
    KernelContext ctx{*n, {}, g.opset};
    for (const Value* v : n->inputs) ctx.inputs.push_back(v ? &env.at(v) : nullptr);
    Tensors results;
    try {
      results = kernel(ctx);
    } catch (const Error& e) {  // e.g. a size limit hit inside Tensor: add the node's name
      std::string what = e.what();
      if (what.rfind(n->label(), 0) == 0) throw;
      throw Error(n->label() + ": " + what, e.kind());
    }
    if (results.size() < n->outputs.size())
      ctx.fail("kernel produced " + std::to_string(results.size()) + " outputs, expected " + std::to_string(n->outputs.size()));
    for (size_t i = 0; i < n->outputs.size(); ++i)
      if (n->outputs[i]) env[n->outputs[i]] = std::move(results[i]);
    for (const Value* v : n->inputs)
      if (v && --uses[v] == 0 && !v->is_initializer()) env.erase(v);
  }
  std::vector<Tensor> outs;
  for (const Value* v : g.outputs) {
    auto it = env.find(v);
    if (it == env.end()) throw Error("graph output '" + v->name + "' was not computed", ErrorKind::Runtime);
    outs.push_back(it->second);
  }
  return outs;
}

}  // namespace nnc
