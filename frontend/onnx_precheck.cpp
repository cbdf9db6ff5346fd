#include "frontend/onnx_precheck.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "frontend/onnx.h"
#include "ir/checked.h"
#include "ir/dtype.h"
#include "ir/error.h"

namespace nnc {
namespace {

void check_elem_type(int code, const std::string& what) {
  if (code != 0 && !is_valid_dtype(code))
    throw Error(what + " has unsupported element type code " + std::to_string(code));
}

void check_value_info(const onnx::ValueInfoProto& vi) {
  if (!vi.type().has_tensor_type()) return;
  const auto& tt = vi.type().tensor_type();
  check_elem_type(tt.elem_type(), "value '" + vi.name() + "'");
  if (!tt.has_shape()) return;
  for (const auto& d : tt.shape().dim())
    if (d.has_dim_value() && d.dim_value() < 0)
      throw Error("value '" + vi.name() + "' declares a negative dimension " + std::to_string(d.dim_value()));
}

void check_initializer(const onnx::TensorProto& t) {
  check_elem_type(t.data_type(), "initializer '" + t.name() + "'");
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  int64_t n = checked_numel(dims, "initializer '" + t.name() + "' of shape " + shape_str(dims));
  size_t esize = is_valid_dtype(t.data_type()) ? dtype_size(static_cast<DType>(t.data_type())) : 0;
  if (t.has_raw_data() && esize && t.raw_data().size() != static_cast<size_t>(n) * esize)
    throw Error("tensor '" + t.name() + "': raw data has " + std::to_string(t.raw_data().size()) + " bytes but shape " +
                shape_str(dims) + " needs " + std::to_string(n * static_cast<int64_t>(esize)));
}

std::string node_label(const onnx::NodeProto& n, int index) {
  return n.op_type() + " '" + (n.name().empty() ? "#" + std::to_string(index) : n.name()) + "'";
}

// Subgraphs nested deeper than this are refused before ONNX's recursive checker sees them
// (protobuf's own parse limit allows about 33 levels).
constexpr int kMaxSubgraphDepth = 16;

// Where a graph sits in the model, for messages: "" for the main graph, else the chain of
// owning nodes and attributes, e.g. "Loop 'outer' body: If 'pick' then_branch: ".
struct Scope {
  const Scope* parent = nullptr;
  std::string path;
  int depth = 0;
  int64_t opset = 0;
  std::unordered_set<std::string> defined;  // names visible from nested subgraphs
  bool visible(const std::string& name) const {
    return defined.count(name) || (parent && parent->visible(name));
  }
};

void check_graph(onnx::GraphProto& g, const Scope& scope);

// Names a node reads from outside: its inputs and, recursively, what its subgraphs read from
// enclosing scopes (ONNX's implicit inputs), so sorting keeps those producers first.
void outer_reads(const onnx::GraphProto& g, std::unordered_set<std::string>& out);
void node_reads(const onnx::NodeProto& n, std::unordered_set<std::string>& out) {
  for (const auto& in : n.input()) if (!in.empty()) out.insert(in);
  for (const auto& a : n.attribute()) {
    if (a.has_g()) outer_reads(a.g(), out);
    for (const auto& sub : a.graphs()) outer_reads(sub, out);
  }
}
void outer_reads(const onnx::GraphProto& g, std::unordered_set<std::string>& out) {
  std::unordered_set<std::string> local, reads;
  for (const auto& in : g.input()) local.insert(in.name());
  for (const auto& t : g.initializer()) local.insert(t.name());
  for (const auto& n : g.node()) {
    node_reads(n, reads);
    for (const auto& o : n.output()) local.insert(o);
  }
  for (const auto& r : reads) if (!local.count(r)) out.insert(r);
}

// A node against its ONNX schema (input and output counts, attribute types), so that a bad
// node deep inside a subgraph is reported with its path.
void check_node_schema(const onnx::NodeProto& n, int index, const Scope& scope) {
  if (!n.domain().empty() && n.domain() != "ai.onnx") return;  // other domains: the checker's
  const auto* schema = onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(scope.opset), "");
  if (!schema) {
    if (scope.depth == 0) return;  // the checker names unknown ops in the main graph itself
    throw Error(scope.path + node_label(n, index) + ": op " + n.op_type() + " is not in ONNX opset " +
                std::to_string(scope.opset));
  }
  try {
    schema->Verify(n);
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw Error(scope.path + node_label(n, index) + ": " + what.substr(0, what.find("\n")));
  }
}

// Every input must come from a graph input, an initializer, some node or (in a subgraph) an
// enclosing scope; then the nodes are ordered topologically, or the first node on a cycle is named.
void check_and_sort_nodes(onnx::GraphProto& g, const Scope& scope) {
  std::unordered_set<std::string> defined;
  for (const auto& in : g.input()) defined.insert(in.name());
  for (const auto& t : g.initializer()) defined.insert(t.name());
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < g.node_size(); ++i)
    for (const auto& out : g.node(i).output())
      if (!out.empty()) producer.emplace(out, i);
  std::vector<int> pending(g.node_size(), 0);
  std::vector<std::vector<int>> users(g.node_size());
  for (int i = 0; i < g.node_size(); ++i) {
    std::unordered_set<std::string> reads;
    node_reads(g.node(i), reads);
    for (const auto& in : reads) {
      if (defined.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end()) {
        if (scope.visible(in)) continue;
        throw Error(scope.path + node_label(g.node(i), i) + ": input '" + in +
                    "' is not produced by any node, graph input or initializer");
      }
      if (it->second == i) continue;  // the checker reports a node reading its own output
      ++pending[i];
      users[it->second].push_back(i);
    }
  }
  std::deque<int> ready;
  for (int i = 0; i < g.node_size(); ++i) if (pending[i] == 0) ready.push_back(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int i = ready.front();
    ready.pop_front();
    order.push_back(i);
    for (int u : users[i]) if (--pending[u] == 0) ready.push_back(u);
  }
  if (order.size() != static_cast<size_t>(g.node_size())) {
    for (int i = 0; i < g.node_size(); ++i)
      if (pending[i] > 0) throw Error(scope.path + "the graph has a cycle through node " + node_label(g.node(i), i));
  }
  bool sorted = true;
  for (size_t k = 0; k < order.size(); ++k) sorted &= order[k] == static_cast<int>(k);
  if (sorted) return;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i : order) *nodes.Add() = g.node(i);
  g.mutable_node()->Swap(&nodes);
}

void check_graph(onnx::GraphProto& g, const Scope& scope) {
  if (scope.depth > kMaxSubgraphDepth)
    throw Error(scope.path + "subgraphs are nested more than " + std::to_string(kMaxSubgraphDepth) + " levels deep");
  for (const auto& t : g.initializer()) check_initializer(t);
  for (const auto& vi : g.input()) check_value_info(vi);
  for (const auto& vi : g.output()) check_value_info(vi);
  for (const auto& vi : g.value_info()) check_value_info(vi);
  check_and_sort_nodes(g, scope);
  Scope inner{&scope, "", scope.depth + 1, scope.opset, {}};
  for (const auto& in : g.input()) inner.defined.insert(in.name());
  for (const auto& t : g.initializer()) inner.defined.insert(t.name());
  for (const auto& n : g.node()) for (const auto& o : n.output()) inner.defined.insert(o);
  for (int i = 0; i < g.node_size(); ++i) {
    onnx::NodeProto& n = *g.mutable_node(i);
    check_node_schema(n, i, scope);
    for (auto& a : *n.mutable_attribute()) {
      inner.path = scope.path + node_label(n, i) + " " + a.name() + ": ";
      if (a.has_g()) check_graph(*a.mutable_g(), inner);
      for (auto& sub : *a.mutable_graphs()) check_graph(sub, inner);
    }
  }
}

}  // namespace

void precheck_model(onnx::ModelProto& model) {
  if (!model.has_graph()) throw Error("the model has no graph");
  for (const auto& o : model.opset_import())
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() > kCanonicalOpset)
      throw Error("the model uses opset " + std::to_string(o.version()) + ", newer than the " +
                  std::to_string(kCanonicalOpset) + " that nnc (ONNX 1.12) supports");
  Scope main;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") main.opset = o.version();
  check_graph(*model.mutable_graph(), main);
}

}  // namespace nnc
