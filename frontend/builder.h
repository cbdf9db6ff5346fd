// The C++ graph builder: models in a few readable lines.
//
//   nnc::Builder b("mlp");
//   auto x = b.input("x", nnc::DType::Float32, {nnc::Dim::sym("N"), nnc::Dim::fixed(784)});
//   auto h = b.relu(b.linear(x, 784, 300, "fc1"));
//   b.output(b.linear(h, 300, 10, "fc2"), "logits");
//   std::unique_ptr<nnc::Graph> g = b.finish();   // checked and shape-inferred by ONNX
#pragma once
#include <memory>
#include <string>

#include "ir/graph.h"

namespace nnc {

class Builder {
 public:
  explicit Builder(std::string name = "main", uint64_t seed = 0);

  Value* input(const std::string& name, DType dtype, Dims dims);
  Value* param(const std::string& name, Tensor t);
  // A float32 parameter with uniform values in [-bound, bound) from the builder's seed.
  Value* random_param(const std::string& name, Shape shape, float bound);
  Value* constant_ints(const std::string& name, const std::vector<int64_t>& v);
  void output(Value* v, const std::string& name = {});

  // Any op from ir/ops.def.
  Value* op(OpKind kind, const std::vector<Value*>& inputs, Attributes attrs = {});

  // Layers (parameters named prefix.weight / prefix.bias, initialised uniformly in ±1/sqrt(fan_in)).
  Value* linear(Value* x, int64_t in_features, int64_t out_features, const std::string& prefix);
  Value* conv2d(Value* x, int64_t in_ch, int64_t out_ch, int64_t kernel, int64_t stride, int64_t pad,
                const std::string& prefix);
  Value* batch_norm(Value* x, int64_t channels, const std::string& prefix);
  Value* relu(Value* x) { return op(OpKind::Relu, {x}); }
  Value* add(Value* a, Value* b) { return op(OpKind::Add, {a, b}); }
  Value* max_pool(Value* x, int64_t kernel, int64_t stride);
  Value* global_avg_pool(Value* x) { return op(OpKind::GlobalAveragePool, {x}); }
  Value* flatten(Value* x, int64_t axis = 1);
  Value* softmax(Value* x, int64_t axis = -1);

  // The graph being built, for what the helpers above don't cover (multi-output nodes).
  Graph& graph() { return *g_; }

  // Validates with ONNX's checker, infers every value's dtype and shape, and returns the graph.
  std::unique_ptr<Graph> finish();

 private:
  std::unique_ptr<Graph> g_;
  uint64_t seed_;
};

}  // namespace nnc
