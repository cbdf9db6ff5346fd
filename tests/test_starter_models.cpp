// Starter models (`nnc new`): layer shapes and parameter counts worked by hand, every kind
// running on the reference interpreter, plain ONNX, weight initialisation and head replacement.
#include <catch2/catch.hpp>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>

#include "frontend/builder.h"
#include "frontend/onnx.h"
#include "frontend/starter_models.h"
#include "runtime/interpreter.h"

using namespace nnc;

namespace {

const Tensor& param(const Graph& g, const std::string& name) {
  const Value* v = g.find_value(name);
  REQUIRE(v != nullptr);
  REQUIRE(v->is_initializer());
  return *v->initializer;
}

double stddev_of(const Tensor& t) {
  const float* v = t.data<float>();
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < t.numel(); ++i) sum += v[i];
  const double mean = sum / double(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) sq += (v[i] - mean) * (v[i] - mean);
  return std::sqrt(sq / double(t.numel() - 1));
}

// A [batch, ...input] tensor of varied values in [-1, 1].
Tensor sample_input(const Graph& g, int64_t batch) {
  Shape shape{batch};
  for (size_t i = 1; i < g.inputs[0]->dims->size(); ++i) shape.push_back((*g.inputs[0]->dims)[i].value);
  Tensor x(DType::Float32, shape);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(std::sin(0.37 * double(i)));
  return x;
}

bool all_zero(const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t.at_double(i) != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("the default mlp is 784-300-100-10 with ReLU, Gemm weights [out, in] and 266,610 parameters") {
  auto g = build_starter_model("mlp", {});
  REQUIRE(g->inputs.size() == 1);
  CHECK(g->inputs[0]->name == "x");
  CHECK(dims_str(*g->inputs[0]->dims) == "[N,784]");
  REQUIRE(g->outputs.size() == 1);
  CHECK(g->outputs[0]->name == "logits");
  CHECK(dims_str(*g->outputs[0]->dims) == "[N,10]");
  // The builder's linear() is a Gemm with transB=1, so weights are [out, in] like PyTorch's.
  CHECK(param(*g, "fc1.weight").shape() == Shape{300, 784});
  CHECK(param(*g, "fc1.bias").shape() == Shape{300});
  CHECK(param(*g, "fc2.weight").shape() == Shape{100, 300});
  CHECK(param(*g, "fc2.bias").shape() == Shape{100});
  CHECK(param(*g, "fc3.weight").shape() == Shape{10, 100});
  CHECK(param(*g, "fc3.bias").shape() == Shape{10});
  // 784*300 + 300 + 300*100 + 100 + 100*10 + 10 = 235200 + 300 + 30000 + 100 + 1000 + 10.
  CHECK(count_parameters(*g) == 266610);
  int gemms = 0, relus = 0;
  for (const auto& n : g->nodes()) gemms += n->op == OpKind::Gemm, relus += n->op == OpKind::Relu;
  CHECK(gemms == 3);
  CHECK(relus == 2);
  CHECK(all_zero(param(*g, "fc1.bias")));
  CHECK_NOTHROW(onnx::checker::check_model(export_onnx_model(*g)));
}

TEST_CASE("every starter model runs on the reference interpreter and gives finite [2,10] logits") {
  for (const std::string& kind : starter_model_kinds()) {
    DYNAMIC_SECTION(kind) {
      StarterOptions o;
      if (kind == "resnet") o.width = 8;  // keeps the reference convolutions quick
      o.dropout = 0.25;                   // Dropout nodes are the identity at inference
      auto g = build_starter_model(kind, o);
      CHECK(dims_str(*g->outputs[0]->dims) == "[N,10]");
      for (const auto& v : g->values())
        if (v->dims && !v->is_initializer())
          for (const Dim& d : *v->dims) CHECK((d.is_static() || d.symbol == "N"));
      std::vector<Tensor> out = run_reference(*g, {{"x", sample_input(*g, 2)}});
      REQUIRE(out.size() == 1);
      REQUIRE(out[0].shape() == Shape{2, 10});
      for (int64_t i = 0; i < out[0].numel(); ++i) CHECK(std::isfinite(out[0].data<float>()[i]));
      CHECK_NOTHROW(onnx::checker::check_model(export_onnx_model(*g)));
    }
  }
}

TEST_CASE("cnn and resnet have the layers and shapes the options ask for") {
  StarterOptions o;
  o.input = {3, 32, 32};
  o.width = 16;
  auto cnn = build_starter_model("cnn", o);
  CHECK(param(*cnn, "conv1.weight").shape() == Shape{16, 3, 3, 3});
  CHECK(param(*cnn, "bn2.weight").shape() == Shape{32});
  CHECK(param(*cnn, "fc1.weight").shape() == Shape{128, 32 * 8 * 8});  // 32 -> 16 -> 8 after two pools
  CHECK(param(*cnn, "fc2.weight").shape() == Shape{10, 128});
  o.blocks = 3;
  auto resnet = build_starter_model("resnet", o);
  CHECK(param(*resnet, "stem.conv.weight").shape() == Shape{16, 3, 3, 3});
  CHECK(param(*resnet, "stage1.block2.conv2.weight").shape() == Shape{16, 16, 3, 3});
  CHECK(param(*resnet, "stage2.block0.conv1.weight").shape() == Shape{32, 16, 3, 3});
  CHECK(param(*resnet, "stage2.block0.shortcut.conv.weight").shape() == Shape{32, 16, 1, 1});
  CHECK(resnet->find_value("stage2.block1.shortcut.conv.weight") == nullptr);  // identity shortcut
  CHECK(param(*resnet, "fc.weight").shape() == Shape{10, 32});
  int adds = 0;
  for (const auto& n : resnet->nodes()) adds += n->op == OpKind::Add;
  CHECK(adds == 6);  // 2 stages x 3 blocks
  // BatchNorm parameters are left as the builder made them: scale 1, bias 0.
  const Tensor& scale = param(*resnet, "stage1.block0.bn1.weight");
  for (int64_t i = 0; i < scale.numel(); ++i) CHECK(scale.data<float>()[i] == 1.0f);
}

TEST_CASE("glu-mlp is a SwiGLU block in the default ONNX domain only") {
  StarterOptions o;
  o.hidden = {};
  auto g = build_starter_model("glu-mlp", o);
  CHECK(param(*g, "gate.weight").shape() == Shape{256, 784});
  CHECK(param(*g, "up.weight").shape() == Shape{256, 784});
  CHECK(param(*g, "head.weight").shape() == Shape{10, 256});
  int sigmoids = 0, muls = 0;
  for (const auto& n : g->nodes()) {
    CHECK(n->domain.empty());
    CHECK(n->op != OpKind::Silu);
    CHECK(n->op != OpKind::Gate);
    sigmoids += n->op == OpKind::Sigmoid, muls += n->op == OpKind::Mul;
  }
  CHECK(sigmoids == 1);
  CHECK(muls == 2);
  // The written model declares the default domain only.
  onnx::ModelProto m = export_onnx_model(*g);
  for (const auto& opset : m.opset_import()) CHECK((opset.domain().empty() || opset.domain() == "ai.onnx"));
}

TEST_CASE("initialize_weights: He normal has std sqrt(2/fan_in), seeds are deterministic, biases zero") {
  auto g = build_starter_model("mlp", {});
  initialize_weights(*g, InitScheme::HeNormal, 123);
  CHECK(stddev_of(param(*g, "fc1.weight")) == Approx(std::sqrt(2.0 / 784)).epsilon(0.05));
  CHECK(stddev_of(param(*g, "fc2.weight")) == Approx(std::sqrt(2.0 / 300)).epsilon(0.05));
  CHECK(all_zero(param(*g, "fc2.bias")));
  // Weight k gets seed + k: the same seed gives the same bytes, another seed other ones.
  Tensor first = param(*g, "fc1.weight");
  CHECK(param(*g, "fc2.weight") == initialize(InitScheme::HeNormal, {100, 300}, Fans{300, 100}, 124));
  initialize_weights(*g, InitScheme::HeNormal, 123);
  CHECK(param(*g, "fc1.weight") == first);
  initialize_weights(*g, InitScheme::HeNormal, 7);
  CHECK_FALSE(param(*g, "fc1.weight") == first);
  // Conv weights use conv_fans: [8, 1, 3, 3] has fan_in 9, so He uniform's bound is sqrt(6/9).
  StarterOptions o;
  o.width = 8;
  o.init = InitScheme::HeUniform;
  auto cnn = build_starter_model("cnn", o);
  const Tensor& w = param(*cnn, "conv1.weight");
  float max_abs = 0;
  for (int64_t i = 0; i < w.numel(); ++i) max_abs = std::max(max_abs, std::fabs(w.data<float>()[i]));
  CHECK(max_abs <= std::sqrt(6.0f / 9.0f));
  CHECK(max_abs > 0.5f);
  CHECK(all_zero(param(*cnn, "conv1.bias")));
}

TEST_CASE("replace_head gives [N, classes] logits and leaves the other layers bit-identical") {
  auto g = build_starter_model("mlp", {});
  Tensor fc1 = param(*g, "fc1.weight");
  replace_head(*g, 2, InitScheme::XavierUniform, 5);
  CHECK(dims_str(*g->outputs[0]->dims) == "[N,2]");
  CHECK(param(*g, "fc3.weight").shape() == Shape{2, 100});
  CHECK(param(*g, "fc3.bias").shape() == Shape{2});
  CHECK(all_zero(param(*g, "fc3.bias")));
  CHECK(param(*g, "fc1.weight") == fc1);
  CHECK(count_parameters(*g) == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 2 + 2);
  std::vector<Tensor> out = run_reference(*g, {{"x", sample_input(*g, 2)}});
  CHECK(out[0].shape() == Shape{2, 2});
  CHECK_NOTHROW(onnx::checker::check_model(export_onnx_model(*g)));

  // A model ending in Softmax has no Gemm head to replace; a Gemm whose weight is an input neither.
  Builder b("probs");
  Value* x = b.input("x", DType::Float32, {Dim::sym("N"), Dim::fixed(4)});
  b.output(b.softmax(b.linear(x, 4, 3, "fc")), "probs");
  auto probs = b.finish();
  CHECK_THROWS_WITH(replace_head(*probs, 2, InitScheme::HeNormal, 0), Catch::Contains("not produced by a Gemm"));
  Builder b2("input_weight");
  Value* x2 = b2.input("x", DType::Float32, {Dim::sym("N"), Dim::fixed(4)});
  Value* w2 = b2.input("w", DType::Float32, {Dim::fixed(4), Dim::fixed(3)});
  b2.output(b2.op(OpKind::Gemm, {x2, w2}), "y");
  auto input_weight = b2.finish();
  CHECK_THROWS_AS(replace_head(*input_weight, 2, InitScheme::HeNormal, 0), Error);
}

TEST_CASE("starter model errors: unknown kinds and impossible options") {
  CHECK_THROWS_WITH(build_starter_model("transformer", {}), Catch::Contains("mlp, cnn, resnet, glu-mlp"));
  StarterOptions flat;
  flat.input = {784};
  CHECK_THROWS_AS(build_starter_model("cnn", flat), Error);
  StarterOptions tiny;
  tiny.input = {1, 2, 2};
  CHECK_THROWS_AS(build_starter_model("cnn", tiny), Error);
  StarterOptions no_classes;
  no_classes.classes = 0;
  CHECK_THROWS_AS(build_starter_model("mlp", no_classes), Error);
  StarterOptions all_dropped;
  all_dropped.dropout = 1;
  CHECK_THROWS_AS(build_starter_model("mlp", all_dropped), Error);
}

TEST_CASE("dropout adds Dropout nodes with constant ratios, not counted as parameters") {
  StarterOptions o;
  o.dropout = 0.5;
  auto g = build_starter_model("mlp", o);
  int dropouts = 0;
  for (const auto& n : g->nodes())
    if (n->op == OpKind::Dropout) {
      ++dropouts;
      REQUIRE(n->input(1) != nullptr);
      CHECK(n->input(1)->initializer->at_double(0) == 0.5);
    }
  CHECK(dropouts == 2);  // after each hidden layer, the last one before the classifier
  CHECK(count_parameters(*g) == 266610);
}
