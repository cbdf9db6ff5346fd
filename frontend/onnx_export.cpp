// IR -> ONNX ModelProto.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "frontend/onnx.h"
#include "frontend/onnx_attributes.h"
#include "frontend/onnx_functions.h"
#include "ir/error.h"

namespace nnc {
namespace {

void fill_value_info(onnx::ValueInfoProto* vi, const Value& v) {
  vi->set_name(v.name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(v.dtype));
  if (!v.dims) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : *v.dims) {
    auto* dp = shape->add_dim();
    if (d.is_static()) dp->set_dim_value(d.value);
    else if (!d.symbol.empty()) dp->set_dim_param(d.symbol);
  }
}

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
  auto* gp = m.mutable_graph();
  gp->set_name(g.name);
  for (const Value* v : g.inputs) fill_value_info(gp->add_input(), *v);
  for (const Value* v : g.initializers) *gp->add_initializer() = tensor_to_proto(*v->initializer, v->name);
  for (const Node* n : g.topological_order()) {
    auto* np = gp->add_node();
    np->set_name(n->name);
    if (n->domain == kNncDomain && n->op != OpKind::Unsupported) {
      nnc_functions.write_call(*n, *np);  // a call of a model-local function of standard ops
      extra_domains.insert(n->domain);
    } else {
      np->set_op_type(n->op_type);
      if (!n->domain.empty()) {
        np->set_domain(n->domain);
        extra_domains.insert(n->domain);
      }
      for (const Value* in : n->inputs) np->add_input(in ? in->name : "");
      for (const auto& [name, value] : n->attrs.all()) *np->add_attribute() = attribute_to_proto(name, value);
    }
    for (const Value* out : n->outputs) np->add_output(out ? out->name : "");
    for (const Value* out : n->outputs)
      if (out && out->dtype != DType::Undefined && !std::count(g.outputs.begin(), g.outputs.end(), out))
        fill_value_info(gp->add_value_info(), *out);
  }
  for (const Value* v : g.outputs) fill_value_info(gp->add_output(), *v);
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
