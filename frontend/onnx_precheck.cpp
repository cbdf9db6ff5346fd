#include "frontend/onnx_precheck.h"

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

// Every input must come from a graph input, an initializer or some node; then the nodes
// are ordered topologically, or the first node on a cycle is named.
void check_and_sort_nodes(onnx::GraphProto& g) {
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
    for (const auto& in : g.node(i).input()) {
      if (in.empty() || defined.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        throw Error(node_label(g.node(i), i) + ": input '" + in + "' is not produced by any node, graph input or initializer");
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
      if (pending[i] > 0) throw Error("the graph has a cycle through node " + node_label(g.node(i), i));
  }
  bool sorted = true;
  for (size_t k = 0; k < order.size(); ++k) sorted &= order[k] == static_cast<int>(k);
  if (sorted) return;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i : order) *nodes.Add() = g.node(i);
  g.mutable_node()->Swap(&nodes);
}

}  // namespace

void precheck_model(onnx::ModelProto& model) {
  if (!model.has_graph()) throw Error("the model has no graph");
  for (const auto& o : model.opset_import())
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() > kCanonicalOpset)
      throw Error("the model uses opset " + std::to_string(o.version()) + ", newer than the " +
                  std::to_string(kCanonicalOpset) + " that nnc (ONNX 1.12) supports");
  onnx::GraphProto& g = *model.mutable_graph();
  for (const auto& t : g.initializer()) check_initializer(t);
  for (const auto& vi : g.input()) check_value_info(vi);
  for (const auto& vi : g.output()) check_value_info(vi);
  for (const auto& vi : g.value_info()) check_value_info(vi);
  check_and_sort_nodes(g);
}

}  // namespace nnc
