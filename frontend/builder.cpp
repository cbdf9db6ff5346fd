#include "frontend/builder.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <random>

#include "frontend/onnx.h"
#include "ir/error.h"

namespace nnc {

Builder::Builder(std::string name, uint64_t seed) : g_(std::make_unique<Graph>()), seed_(seed) {
  g_->name = std::move(name);
  g_->opset = kCanonicalOpset;
}

Value* Builder::input(const std::string& name, DType dtype, Dims dims) { return g_->add_input(name, dtype, std::move(dims)); }

Value* Builder::param(const std::string& name, Tensor t) { return g_->add_initializer(name, std::move(t)); }

Value* Builder::random_param(const std::string& name, Shape shape, float bound) {
  Tensor t(DType::Float32, std::move(shape));
  std::mt19937_64 rng(seed_++);
  std::uniform_real_distribution<float> dist(-bound, bound);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return param(name, std::move(t));
}

Value* Builder::constant_ints(const std::string& name, const std::vector<int64_t>& v) {
  return param(name, Tensor::from_int64s(v, {static_cast<int64_t>(v.size())}));
}

void Builder::output(Value* v, const std::string& name) {
  if (!name.empty()) v->name = name;
  g_->outputs.push_back(v);
}

Value* Builder::op(OpKind kind, const std::vector<Value*>& inputs, Attributes attrs) {
  return g_->add_node(kind, inputs, 1, {}, std::move(attrs))->outputs[0];
}

Value* Builder::linear(Value* x, int64_t in_features, int64_t out_features, const std::string& prefix) {
  float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
  Value* w = random_param(prefix + ".weight", {out_features, in_features}, bound);
  Value* b = random_param(prefix + ".bias", {out_features}, bound);
  Attributes a;
  a.set("transB", int64_t{1});
  return op(OpKind::Gemm, {x, w, b}, a);
}

Value* Builder::conv2d(Value* x, int64_t in_ch, int64_t out_ch, int64_t kernel, int64_t stride, int64_t pad,
                       const std::string& prefix) {
  float bound = 1.0f / std::sqrt(static_cast<float>(in_ch * kernel * kernel));
  Value* w = random_param(prefix + ".weight", {out_ch, in_ch, kernel, kernel}, bound);
  Value* b = random_param(prefix + ".bias", {out_ch}, bound);
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{kernel, kernel});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  return op(OpKind::Conv, {x, w, b}, a);
}

Value* Builder::batch_norm(Value* x, int64_t channels, const std::string& prefix) {
  auto filled = [&](float v) {
    Tensor t(DType::Float32, {channels});
    for (int64_t i = 0; i < channels; ++i) t.data<float>()[i] = v;
    return t;
  };
  Value* scale = param(prefix + ".weight", filled(1.0f));
  Value* bias = param(prefix + ".bias", filled(0.0f));
  Value* mean = param(prefix + ".running_mean", filled(0.0f));
  Value* var = param(prefix + ".running_var", filled(1.0f));
  Attributes a;
  a.set("epsilon", 1e-5f);
  return op(OpKind::BatchNormalization, {x, scale, bias, mean, var}, a);
}

Value* Builder::max_pool(Value* x, int64_t kernel, int64_t stride) {
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{kernel, kernel});
  a.set("strides", std::vector<int64_t>{stride, stride});
  return op(OpKind::MaxPool, {x}, a);
}

Value* Builder::flatten(Value* x, int64_t axis) {
  Attributes a;
  a.set("axis", axis);
  return op(OpKind::Flatten, {x}, a);
}

Value* Builder::softmax(Value* x, int64_t axis) {
  Attributes a;
  a.set("axis", axis);
  return op(OpKind::Softmax, {x}, a);
}

std::unique_ptr<Graph> Builder::finish() {
  // Round-trip through ONNX so its checker validates the graph and its shape inference
  // types every value; the builder itself stays free of per-op shape rules.
  onnx::ModelProto m = export_onnx_model(*g_);
  try {
    // Types the graph outputs before the checker sees them; data propagation follows shape
    // computations (Shape -> Gather -> Concat -> Reshape) to static output shapes.
    onnx::ShapeInferenceOptions options(false, 0, true);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    throw Error(std::string("builder: ONNX shape inference: ") + e.what());
  }
  return import_onnx_model(std::move(m), "", ImportOptions{});
}

}  // namespace nnc
