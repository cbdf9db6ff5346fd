#include "runtime/interpreter.h"

#include <unordered_map>

#include "runtime/ref/kernel.h"

namespace nnc {
namespace {

using Env = std::unordered_map<const Value*, RuntimeValue>;

// Runs g's nodes in env, which holds its inputs, initializers and captures.
RuntimeValues run_graph(const Graph& g, Env env) {
  for (const Value* v : g.initializers) env[v] = *v->initializer;
  std::vector<Node*> order = g.topological_order();
  // Remaining uses of each value, so intermediates are freed after their last use.
  std::unordered_map<const Value*, size_t> uses;
  for (const Node* n : order) for (const Value* v : n->inputs) if (v) ++uses[v];
  for (const Value* v : g.outputs) ++uses[v];

  for (const Node* n : order) {
    std::vector<const RuntimeValue*> in;
    for (const Value* v : n->inputs) in.push_back(v ? &env.at(v) : nullptr);
    RuntimeValues results = run_node_reference(*n, in, g.opset);
    for (size_t i = 0; i < n->outputs.size(); ++i)
      if (n->outputs[i]) env[n->outputs[i]] = std::move(results[i]);
    for (const Value* v : n->inputs)
      if (v && --uses[v] == 0 && !v->is_initializer()) env.erase(v);
  }
  RuntimeValues outs;
  for (const Value* v : g.outputs) {
    auto it = env.find(v);
    if (it == env.end()) throw Error("graph output '" + v->name + "' was not computed", ErrorKind::Runtime);
    outs.push_back(it->second);
  }
  return outs;
}

// The graph's inputs from a name -> Tensor or RuntimeValue map, each copied once and checked
// against its declared type.
template <class Map>
Env bind_inputs(const Graph& g, const Map& inputs) {
  Env env;
  for (const Value* v : g.inputs) {
    auto it = inputs.find(v->name);
    if (it == inputs.end()) throw Error("no data for graph input '" + v->name + "'", ErrorKind::Runtime);
    RuntimeValue data(it->second);
    check_value_type(*v, data, "input '" + v->name + "'");
    env[v] = std::move(data);
  }
  return env;
}

}  // namespace

RuntimeValues run_node_reference(const Node& n, const std::vector<const RuntimeValue*>& inputs, int64_t opset) {
  KernelContext ctx{n, {}, opset};
  for (const RuntimeValue* data : inputs) {
    ctx.values.push_back(data);
    ctx.inputs.push_back(data && data->is_plain_tensor() ? &data->tensor : nullptr);
  }
  RuntimeValues results;
  try {
    if (ValueKernel value_kernel = ref_value_kernel(n.op)) {
      results = value_kernel(ctx);
    } else {
      RefKernel kernel = ref_kernel(n.op);
      if (!kernel) throw Error(n.label() + ": op " + n.op_type + " is not supported by the reference interpreter");
      for (size_t i = 0; i < inputs.size(); ++i)
        if (ctx.values[i] && !ctx.inputs[i])
          ctx.fail("input " + std::to_string(i) + " is a " + ctx.values[i]->type_str() + ", this op takes tensors");
      Tensors tensors = kernel(ctx);
      results.assign(std::make_move_iterator(tensors.begin()), std::make_move_iterator(tensors.end()));
    }
  } catch (const Error& e) {  // e.g. a size limit hit inside Tensor: add the node's name
    std::string what = e.what();
    if (what.rfind(n.label(), 0) == 0) throw;
    throw Error(n.label() + ": " + what, e.kind());
  }
  if (results.size() < n.outputs.size())
    throw Error(n.label() + ": kernel produced " + std::to_string(results.size()) + " outputs, expected " +
                std::to_string(n.outputs.size()), ErrorKind::Runtime);
  return results;
}

std::vector<std::string> unsupported_nodes(const Graph& g) {
  std::vector<std::string> out;
  for (const auto& n : g.nodes()) {
    if (!ref_kernel(n->op) && !ref_value_kernel(n->op))
      out.push_back(n->label() + (n->domain.empty() ? "" : " (domain " + n->domain + ")"));
    for (const auto& [attr, sub] : n->subgraphs())
      for (const std::string& s : unsupported_nodes(*sub)) out.push_back(n->label() + " " + attr + ": " + s);
  }
  return out;
}

RuntimeValues run_reference_values(const Graph& g, const ValueMap& inputs) { return run_graph(g, bind_inputs(g, inputs)); }

std::vector<Tensor> run_reference(const Graph& g, const TensorMap& inputs) {
  std::vector<Tensor> outs;
  for (RuntimeValue& r : run_graph(g, bind_inputs(g, inputs))) {
    if (!r.is_plain_tensor()) throw Error("the model returns a " + r.type_str() + ", not a tensor", ErrorKind::Runtime);
    outs.push_back(std::move(r.tensor));
  }
  return outs;
}

RuntimeValues run_subgraph(const KernelContext& ctx, const std::string& attr, const RuntimeValues& inputs) {
  const Graph& body = ctx.subgraph(attr);
  std::vector<const RuntimeValue*> captured = ctx.captured(attr);
  if (inputs.size() != body.inputs.size())
    ctx.fail(attr + " takes " + std::to_string(body.inputs.size()) + " inputs, given " + std::to_string(inputs.size()));
  Env env;
  for (size_t i = 0; i < inputs.size(); ++i) env[body.inputs[i]] = inputs[i];
  for (size_t i = 0; i < captured.size(); ++i) {
    if (!captured[i]) ctx.fail(attr + ": captured value '" + body.captures[i]->name + "' is missing");
    env[body.captures[i]] = *captured[i];
  }
  try {
    return run_graph(body, std::move(env));
  } catch (const Error& e) {
    throw Error(ctx.node.label() + " " + attr + ": " + e.what(), e.kind());
  }
}

}  // namespace nnc
