#include "frontend/shape_specialize.h"

#include <algorithm>

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "frontend/onnx.h"

namespace nnc {

namespace {

bool static_shape_of(const onnx::ValueInfoProto& vi, Shape& out) {
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return false;
  out.clear();
  for (const auto& d : vi.type().tensor_type().shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() < 0) return false;
    out.push_back(d.dim_value());
  }
  return true;
}

}  // namespace

std::unordered_map<const Value*, Shape> infer_shapes_for_inputs(
    const Graph& g, const std::map<std::string, Shape>& input_shapes,
    const std::map<std::string, std::shared_ptr<const Tensor>>& input_values) {
  onnx::ModelProto model = export_onnx_model(g);
  onnx::GraphProto* gp = model.mutable_graph();
  gp->clear_value_info();
  for (const auto& [name, t] : input_values) *gp->add_initializer() = tensor_to_proto(*t, name);
  auto* ins = gp->mutable_input();
  ins->erase(std::remove_if(ins->begin(), ins->end(), [&](const auto& in) { return input_values.count(in.name()) != 0; }),
             ins->end());
  for (auto& in : *gp->mutable_input()) {
    auto it = input_shapes.find(in.name());
    if (it == input_shapes.end() || !in.type().has_tensor_type()) continue;
    auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (int64_t d : it->second) shape->add_dim()->set_dim_value(d);
  }
  for (auto& out : *gp->mutable_output())
    if (out.type().has_tensor_type()) out.mutable_type()->mutable_tensor_type()->clear_shape();
  onnx::ShapeInferenceOptions si{/*check_type=*/false, /*error_mode=*/0, /*enable_data_propagation=*/true};
  try {
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), si);
  } catch (const std::exception& e) {
    throw Error(std::string("shape inference for the given input shapes: ") + e.what(), ErrorKind::Runtime);
  }
  std::unordered_map<const Value*, Shape> shapes;
  Shape s;
  auto take = [&](const onnx::ValueInfoProto& vi) {
    if (const Value* v = g.find_value(vi.name()); v && v->is_plain_tensor() && static_shape_of(vi, s)) shapes[v] = s;
  };
  for (const auto& vi : gp->input()) take(vi);
  for (const auto& vi : gp->value_info()) take(vi);
  for (const auto& vi : gp->output()) take(vi);
  for (const Value* v : g.initializers) shapes[v] = v->initializer->shape();
  return shapes;
}

}  // namespace nnc
