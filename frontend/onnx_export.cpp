// IR -> ONNX ModelProto.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_map>

#include "frontend/onnx.h"
#include "frontend/onnx_attributes.h"
#include "frontend/onnx_functions.h"
#include "frontend/onnx_types.h"
#include "ir/error.h"

namespace nnc {
namespace {

void fill_value_info(onnx::ValueInfoProto* vi, const Value& v, const std::string& name) {
  vi->set_name(name);
  type_to_proto(type_of(v), v.dims, vi->mutable_type());
}

// Writes one graph; subgraphs recursively. A subgraph's captured values are written under the
// current names of the outer values they are bound to (a pass may have renamed those).
class GraphWriter {
 public:
  GraphWriter(NncFunctionWriter& functions, std::set<std::string>& domains) : functions_(functions), domains_(domains) {}

  void write(const Graph& g, onnx::GraphProto* gp, const std::unordered_map<const Value*, std::string>& renames = {}) {
    auto name = [&](const Value* v) {
      auto it = renames.find(v);
      return it == renames.end() ? v->name : it->second;
    };
    gp->set_name(g.name);
    for (const Value* v : g.inputs) fill_value_info(gp->add_input(), *v, v->name);
    for (const Value* v : g.initializers) *gp->add_initializer() = tensor_to_proto(*v->initializer, v->name);
    for (const Node* n : g.topological_order()) {
      auto* np = gp->add_node();
      np->set_name(n->name);
      if (n->domain == kNncDomain && n->op != OpKind::Unsupported) {
        functions_.write_call(*n, *np);  // a call of a model-local function of standard ops
        domains_.insert(n->domain);
      } else {
        np->set_op_type(n->op_type);
        if (!n->domain.empty()) {
          np->set_domain(n->domain);
          domains_.insert(n->domain);
        }
        for (size_t i = 0; i < n->num_explicit_inputs(); ++i) np->add_input(n->inputs[i] ? name(n->inputs[i]) : "");
        write_attributes(*n, np, name);
      }
      for (const Value* out : n->outputs) np->add_output(out ? out->name : "");
      for (const Value* out : n->outputs)
        if (out && out->dtype != DType::Undefined && !g.is_output(out)) fill_value_info(gp->add_value_info(), *out, out->name);
    }
    for (const Value* v : g.outputs) fill_value_info(gp->add_output(), *v, name(v));
  }

 private:
  template <class NameOf>
  void write_attributes(const Node& n, onnx::NodeProto* np, const NameOf& name) {
    size_t captured = n.num_explicit_inputs();
    std::unordered_map<std::string, std::unordered_map<const Value*, std::string>> sub_renames;
    for (const auto& [attr, sub] : n.subgraphs())
      for (const Value* c : sub->captures) sub_renames[attr][c] = name(n.inputs.at(captured++));
    for (const auto& [attr, value] : n.attrs.all()) {
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&value)) {
        auto* a = np->add_attribute();
        a->set_name(attr);
        a->set_type(onnx::AttributeProto::GRAPH);
        write(**sub, a->mutable_g(), sub_renames[attr]);
      } else {
        *np->add_attribute() = attribute_to_proto(attr, value);
      }
    }
  }

  NncFunctionWriter& functions_;
  std::set<std::string>& domains_;
};

}  // namespace

onnx::ModelProto export_onnx_model(const Graph& g) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("nnc");
  m.set_producer_version("0.1.0");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(g.opset);
  std::set<std::string> extra_domains;
  NncFunctionWriter nnc_functions(g.opset);
  GraphWriter(nnc_functions, extra_domains).write(g, m.mutable_graph());
  nnc_functions.append_functions(m);
  for (const auto& d : extra_domains) {
    auto* o = m.add_opset_import();
    o->set_domain(d);
    o->set_version(1);
  }
  return m;
}

void export_onnx_file(const Graph& g, const std::string& path, bool overwrite) {
  if (!overwrite && std::filesystem::exists(path))
    throw Error("'" + path + "' already exists (pass --force to overwrite it)", ErrorKind::Runtime);
  onnx::ModelProto m = export_onnx_model(g);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !m.SerializeToOstream(&out)) throw Error("cannot write '" + path + "'", ErrorKind::Runtime);
}

}  // namespace nnc
