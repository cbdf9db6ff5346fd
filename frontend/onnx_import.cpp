// ONNX -> IR. See frontend/onnx.h for the steps.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "frontend/onnx.h"
#include "frontend/onnx_attributes.h"
#include "frontend/onnx_functions.h"
#include "frontend/onnx_precheck.h"
#include "ir/error.h"
#include "ir/verifier.h"

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

// Declared shapes may not hold negative sizes.
void check_declared_dims(const onnx::ValueInfoProto& vi) {
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
  for (const auto& d : vi.type().tensor_type().shape().dim())
    if (d.has_dim_value() && d.dim_value() < 0)
      throw Error("value '" + vi.name() + "' declares a negative dimension " + std::to_string(d.dim_value()));
}

void apply_value_info(Value* v, const onnx::ValueInfoProto& vi) {
  check_declared_dims(vi);
  if (!vi.type().has_tensor_type()) return;
  const auto& tt = vi.type().tensor_type();
  if (tt.elem_type() != 0) {
    if (!is_valid_dtype(tt.elem_type()))
      throw Error("value '" + vi.name() + "' has unsupported element type code " + std::to_string(tt.elem_type()));
    v->dtype = static_cast<DType>(tt.elem_type());
  }
  if (tt.has_shape()) {
    Dims dims;
    for (const auto& d : tt.shape().dim())
      dims.push_back(d.has_dim_value() ? Dim::fixed(d.dim_value()) : Dim::sym(d.dim_param()));
    v->dims = dims;
  }
}

class GraphBuilder {
 public:
  GraphBuilder(Graph& g, int64_t opset) : g_(g), opset_(opset) {}

  void build(const onnx::GraphProto& gp) {
    g_.name = gp.name().empty() ? "main" : gp.name();
    for (const auto& t : gp.initializer()) {
      if (values_.count(t.name())) throw Error("initializer '" + t.name() + "' is defined twice");
      values_[t.name()] = g_.add_initializer(t.name(), tensor_from_proto(t));
    }
    for (const auto& in : gp.input()) {
      if (values_.count(in.name())) { check_declared_dims(in); continue; }  // IR v3: initializers listed as inputs
      Value* v = g_.add_input(in.name(), DType::Undefined, {});
      v->dims.reset();
      apply_value_info(v, in);
      values_[in.name()] = v;
    }
    for (const auto& n : gp.node()) add_node(n);
    for (const auto& vi : gp.value_info()) if (auto it = values_.find(vi.name()); it != values_.end()) apply_value_info(it->second, vi);
    for (const auto& out : gp.output()) {
      auto it = values_.find(out.name());
      if (it == values_.end()) throw Error("graph output '" + out.name() + "' is never produced");
      apply_value_info(it->second, out);
      g_.outputs.push_back(it->second);
    }
  }

 private:
  void add_node(const onnx::NodeProto& np) {
    std::string name = np.name().empty() ? g_.unique_name(np.op_type()) : np.name();
    std::vector<Value*> ins;
    for (const auto& in : np.input()) {
      if (in.empty()) { ins.push_back(nullptr); continue; }
      auto it = values_.find(in);
      if (it == values_.end())
        throw Error(np.op_type() + " '" + name + "': input '" + in + "' is not produced by any node, graph input or initializer");
      ins.push_back(it->second);
    }
    std::vector<Value*> outs;
    for (const auto& out : np.output()) {
      if (out.empty()) { outs.push_back(nullptr); continue; }
      if (values_.count(out)) throw Error(np.op_type() + " '" + name + "': output '" + out + "' is defined twice");
      Value* v = g_.add_value(out);
      values_[out] = v;
      outs.push_back(v);
    }
    // nnc's own ops come as calls of model-local functions (frontend/onnx_functions.h).
    std::optional<OpKind> nnc_op = np.domain() == kNncDomain ? nnc_op_of_call(np.op_type()) : std::nullopt;
    if (nnc_op) ins = nnc_call_inputs(np, ins);
    Node* node = g_.add_unsupported_node(np.domain(), nnc_op ? op_name(*nnc_op) : np.op_type(), ins, outs, name);
    if (nnc_op) node->op = *nnc_op;
    else if (auto kind = find_op(np.domain(), np.op_type())) node->op = *kind;
    node->domain = np.domain() == "ai.onnx" ? "" : np.domain();
    for (const auto& a : np.attribute())
      if (!nnc_op || a.name() != kInputSlotsAttr) node->attrs.set(a.name(), attribute_from_proto(a));
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
  std::unordered_map<std::string, Value*> values_;
};

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("cannot open '" + path + "': no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::unique_ptr<Graph> import_onnx_file(const std::string& path, const ImportOptions& opts) {
  std::string bytes = read_file(path);
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
  if (opts.convert_opset && opset > 0 && opset < kCanonicalOpset) {
    try {
      model = onnx::version_conversion::ConvertVersion(model, kCanonicalOpset);
      opset = kCanonicalOpset;
    } catch (const std::exception&) {
      // The converter lacks an adapter for some op here: keep the model's own opset;
      // kernels read both the attribute and the input forms of moved parameters.
    }
  }
  try {
    onnx::ShapeInferenceOptions si{/*check_type=*/false, /*error_mode=*/1, /*enable_data_propagation=*/false};
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), si);
  } catch (const std::exception& e) {
    throw Error(std::string("ONNX shape inference: ") + e.what());
  }
  auto g = std::make_unique<Graph>();
  g->opset = opset;
  GraphBuilder(*g, opset).build(model.graph());
  verify_graph(*g);
  return g;
}

}  // namespace nnc
