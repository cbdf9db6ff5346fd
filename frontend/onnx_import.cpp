// ONNX -> IR. See frontend/onnx.h for the steps.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "frontend/onnx.h"
#include "frontend/onnx_attributes.h"
#include "frontend/onnx_functions.h"
#include "frontend/onnx_precheck.h"
#include "frontend/onnx_types.h"
#include "ir/error.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"

namespace nnc {
namespace {

int64_t default_opset(const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  return 0;
}

// Loads external tensor data into the protos so that the checker and the converter see
// ordinary tensors; paths are validated by read_external_data.
void inline_external_data(onnx::GraphProto& g, const std::string& base_dir) {
  for (auto& t : *g.mutable_initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
    Tensor loaded = tensor_from_proto(t, base_dir);
    onnx::TensorProto inlined = tensor_to_proto(loaded, t.name());
    t = std::move(inlined);
  }
  for (auto& n : *g.mutable_node())
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g()) inline_external_data(*a.mutable_g(), base_dir);
      for (auto& sub : *a.mutable_graphs()) inline_external_data(sub, base_dir);
    }
}

void apply_value_info(Value* v, const onnx::ValueInfoProto& vi) {
  if (!vi.has_type()) return;
  ProtoType t = type_from_proto(vi.type(), "value '" + vi.name() + "'");
  v->kind = t.type.kind;
  v->optional = t.type.optional;
  if (t.type.elem != DType::Undefined) v->dtype = t.type.elem;
  if (t.dims) v->dims = t.dims;
}

// ONNX 1.12's version converter drops the declared types of sequence and optional values
// from the graph's interface (they are copied back from the original by name), and its Scan
// 8 -> 9 adapter drops the batch axis from the declared shapes (a changed interface is
// refused, so the model keeps its own opset).
void keep_interface(const onnx::GraphProto& original, onnx::GraphProto& converted) {
  std::unordered_map<std::string, const onnx::TypeProto*> types;
  for (const auto& vi : original.input()) types[vi.name()] = &vi.type();
  for (const auto& vi : original.output()) types[vi.name()] = &vi.type();
  auto restore = [&](onnx::ValueInfoProto& vi) {
    auto it = types.find(vi.name());
    if (it == types.end()) return;
    if (!vi.has_type() || vi.type().value_case() == onnx::TypeProto::VALUE_NOT_SET) *vi.mutable_type() = *it->second;
    else if (vi.type().SerializeAsString() != it->second->SerializeAsString())
      throw std::runtime_error("the converter changed the type of '" + vi.name() + "'");
  };
  for (auto& vi : *converted.mutable_input()) restore(vi);
  for (auto& vi : *converted.mutable_output()) restore(vi);
}

// Before opset 7, PRelu's slope could be one value per channel ([C] for an input [N,C,...]);
// since then it broadcasts from the right. A constant per-channel slope is reshaped to
// [C,1,...,1] so the converted model keeps its meaning (the converter leaves it as it is).
void upgrade_per_channel_prelu(onnx::GraphProto& g) {
  std::unordered_map<std::string, int> ranks;
  for (const auto& vi : g.input())
    if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
      ranks[vi.name()] = vi.type().tensor_type().shape().dim_size();
  std::unordered_map<std::string, onnx::TensorProto*> inits;
  for (auto& t : *g.mutable_initializer()) inits[t.name()] = &t;
  for (const auto& n : g.node()) {
    if (n.op_type() != "PRelu" || n.input_size() != 2 || !ranks.count(n.input(0)) || !inits.count(n.input(1))) continue;
    onnx::TensorProto* slope = inits[n.input(1)];
    int rank = ranks[n.input(0)];
    if (slope->dims_size() != 1 || slope->dims(0) <= 1 || rank < 3) continue;
    for (int i = 2; i < rank; ++i) slope->add_dims(1);
    for (auto& vi : *g.mutable_input())  // IR v3 lists initializers as inputs too
      if (vi.name() == slope->name() && vi.type().tensor_type().has_shape())
        for (int i = 2; i < rank; ++i) vi.mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(1);
  }
}

// Builds one graph; a subgraph's builder has its parent's, so that names from enclosing
// scopes resolve to captured values (Graph::captures, Node::num_captured).
class GraphBuilder {
 public:
  GraphBuilder(Graph& g, int64_t opset, GraphBuilder* parent = nullptr) : g_(g), opset_(opset), parent_(parent) {}

  void build(const onnx::GraphProto& gp) {
    g_.name = gp.name().empty() ? "main" : gp.name();
    for (const auto& t : gp.initializer()) {
      if (values_.count(t.name())) throw Error("initializer '" + t.name() + "' is defined twice");
      values_[t.name()] = g_.add_initializer(t.name(), tensor_from_proto(t));
    }
    for (const auto& in : gp.input()) {
      if (values_.count(in.name())) continue;  // IR v3: initializers listed as inputs
      Value* v = g_.add_input(in.name(), DType::Undefined, {});
      v->dims.reset();
      apply_value_info(v, in);
      values_[in.name()] = v;
    }
    for (const auto& n : gp.node()) add_node(n);
    for (const auto& vi : gp.value_info()) if (auto it = values_.find(vi.name()); it != values_.end()) apply_value_info(it->second, vi);
    for (const auto& out : gp.output()) {
      Value* v = resolve(out.name());
      if (!v) throw Error("graph output '" + out.name() + "' is never produced");
      apply_value_info(v, out);
      g_.outputs.push_back(v);
    }
  }

  // The outer-scope value for each of g_.captures, in order.
  const std::vector<Value*>& captured_outer() const { return captured_outer_; }

 private:
  // A name defined here, or in an enclosing graph (then captured through a local stand-in).
  Value* resolve(const std::string& name) {
    if (auto it = values_.find(name); it != values_.end()) return it->second;
    Value* outer = parent_ ? parent_->resolve(name) : nullptr;
    if (!outer) return nullptr;
    Value* local = g_.add_capture(name);
    local->dtype = outer->dtype;
    local->dims = outer->dims;
    local->kind = outer->kind;
    local->optional = outer->optional;
    captured_outer_.push_back(outer);
    return values_[name] = local;
  }

  void add_node(const onnx::NodeProto& np) {
    std::string name = np.name().empty() ? g_.unique_name(np.op_type()) : np.name();
    std::string label = np.op_type() + " '" + name + "'";
    std::vector<Value*> ins;
    for (const auto& in : np.input()) {
      if (in.empty()) { ins.push_back(nullptr); continue; }
      Value* v = resolve(in);
      if (!v) throw Error(label + ": input '" + in + "' is not produced by any node, graph input or initializer");
      ins.push_back(v);
    }
    // Subgraphs first (they see the names defined so far); their captures become this node's
    // trailing inputs, one block per attribute in name order.
    std::map<std::string, std::pair<std::shared_ptr<Graph>, std::vector<Value*>>> subgraphs;
    for (const auto& a : np.attribute()) {
      if (a.type() == onnx::AttributeProto::GRAPHS) throw Error(label + ": attribute '" + a.name() + "' (a list of graphs) is not supported");
      if (a.type() != onnx::AttributeProto::GRAPH) continue;
      auto sub = std::make_shared<Graph>();
      sub->opset = opset_;
      GraphBuilder b(*sub, opset_, this);
      try {
        b.build(a.g());
      } catch (const Error& e) {
        throw Error(label + " " + a.name() + ": " + e.what());
      }
      subgraphs[a.name()] = {sub, b.captured_outer()};
    }
    size_t captured = 0;
    for (const auto& [attr, sub] : subgraphs) {
      ins.insert(ins.end(), sub.second.begin(), sub.second.end());
      captured += sub.second.size();
    }
    std::vector<Value*> outs;
    for (const auto& out : np.output()) {
      if (out.empty()) { outs.push_back(nullptr); continue; }
      if (values_.count(out)) throw Error(label + ": output '" + out + "' is defined twice");
      Value* v = g_.add_value(out);
      values_[out] = v;
      outs.push_back(v);
    }
    // nnc's own ops come as calls of model-local functions (frontend/onnx_functions.h).
    std::optional<OpKind> nnc_op = np.domain() == kNncDomain ? nnc_op_of_call(np.op_type()) : std::nullopt;
    if (nnc_op) ins = nnc_call_inputs(np, ins);
    Node* node = g_.add_unsupported_node(np.domain(), nnc_op ? op_name(*nnc_op) : np.op_type(), ins, outs, name);
    node->num_captured = captured;
    if (nnc_op) node->op = *nnc_op;
    else if (auto kind = find_op(np.domain(), np.op_type())) node->op = *kind;
    node->domain = np.domain() == "ai.onnx" ? "" : np.domain();
    for (const auto& a : np.attribute()) {
      if (a.type() == onnx::AttributeProto::GRAPH) node->attrs.set(a.name(), subgraphs.at(a.name()).first);
      else if (!nnc_op || a.name() != kInputSlotsAttr) node->attrs.set(a.name(), attribute_from_proto(a));
    }
    fill_schema_defaults(*node);
  }

  // Attribute defaults from ONNX's op schema, so kernels and passes see every attribute.
  void fill_schema_defaults(Node& n) {
    const auto* schema = onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(opset_), n.domain);
    if (!schema) return;
    for (const auto& [attr_name, attr] : schema->attributes())
      if (!n.attrs.has(attr_name) && attr.default_value.type() != onnx::AttributeProto::UNDEFINED)
        n.attrs.set(attr_name, attribute_from_proto(attr.default_value));
  }

  Graph& g_;
  int64_t opset_;
  GraphBuilder* parent_;
  std::unordered_map<std::string, Value*> values_;
  std::vector<Value*> captured_outer_;
};

}  // namespace

std::string read_binary_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("cannot open '" + path + "': no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Graph> import_onnx_file(const std::string& path, const ImportOptions& opts) {
  std::string bytes = read_binary_file(path);
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes))
    throw Error("'" + path + "' is not a valid ONNX model (truncated, or not a protobuf file)");
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  return import_onnx_model(std::move(model), dir, opts);
}

std::unique_ptr<Graph> import_onnx_model(onnx::ModelProto model, const std::string& base_dir,
                                         const ImportOptions& opts) {
  precheck_model(model);
  inline_external_data(*model.mutable_graph(), base_dir);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(std::string("ONNX checker: ") + e.what());
  }
  int64_t opset = default_opset(model);
  onnx::ShapeInferenceOptions si{/*check_type=*/false, /*error_mode=*/1, /*enable_data_propagation=*/false};
  bool inferred = false;
  if (opset > 0 && opset < 7) upgrade_per_channel_prelu(*model.mutable_graph());
  if (opts.convert_opset && opset > 0 && opset < kCanonicalOpset) {
    // When the converter lacks an adapter for some op, or its result does not infer, the
    // model keeps its own opset; kernels read both the attribute and the input forms of
    // moved parameters.
    try {
      onnx::ModelProto converted = onnx::version_conversion::ConvertVersion(model, kCanonicalOpset);
      keep_interface(model.graph(), *converted.mutable_graph());
      onnx::shape_inference::InferShapes(converted, onnx::OpSchemaRegistry::Instance(), si);
      model = std::move(converted);
      opset = kCanonicalOpset;
      inferred = true;
    } catch (const std::exception&) {
    }
  }
  if (!inferred) {
    try {
      onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), si);
    } catch (const std::exception& e) {
      throw Error(std::string("ONNX shape inference: ") + e.what());
    }
  }
  auto g = std::make_unique<Graph>();
  g->opset = opset;
  GraphBuilder(*g, opset).build(model.graph());
  expand_gradient_ops(*g);  // the training domain's Gradient op is autodiff on this graph
  verify_graph(*g);
  return g;
}

}  // namespace nnc
