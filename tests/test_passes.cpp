// Pass tests: each builds a small graph, runs one pass (or a short list), compares the IR
// text after it with the rewrite worked out by hand, and checks numerically that the
// reference interpreter gives the same outputs before and after (the ReferenceOutputs
// oracle that --verify uses, on seeded random inputs).
#include <catch2/catch.hpp>
#include <onnx/onnx_pb.h>

#include <sstream>

#include "frontend/builder.h"
#include "frontend/onnx.h"
#include "ir/printer.h"
#include "passes/pass_manager.h"
#include "passes/verify_equivalence.h"

using namespace nnc;

namespace {

Dims fixed(std::initializer_list<int64_t> d) {
  Dims r;
  for (int64_t v : d) r.push_back(Dim::fixed(v));
  return r;
}

Tensor floats(std::vector<float> v, Shape s) { return Tensor::from_floats(v, std::move(s)); }

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (auto& [k, v] : kv) a.set(k, v);
  return a;
}

// The node lines of the printed IR ("%y = Relu(%x) : float32[2,3]"), without the header,
// inputs, initializers and outputs, so the expectations show just the rewrite.
std::string node_text(const Graph& g) {
  std::istringstream in(print_graph(g));
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("  %", 0) == 0) out += line.substr(2) + "\n";
  return out;
}

// Runs the passes with the IR verifier on and returns the graph's node text; the outputs
// must match the original's within `tol` (relative to each output's scale).
std::string run_passes(Graph& g, const std::vector<std::string>& names, double tol = 1e-5) {
  ReferenceOutputs before(g, 7, {});
  std::vector<PassEntry> passes;
  for (const auto& n : names) passes.push_back(find_pass(n));
  PipelineOptions opts;
  opts.verify_ir = true;
  run_pipeline(g, passes, opts);
  CHECK(before.compare(g, tol) == "");
  return node_text(g);
}

}  // namespace

TEST_CASE("remove-noops drops Identity, same-type Cast and a cancelling Transpose pair") {
  Builder b("noops");
  Value* x = b.input("x", DType::Float32, fixed({2, 3}));
  Value* i = b.op(OpKind::Identity, {x});
  Value* t1 = b.op(OpKind::Transpose, {i}, attrs({{"perm", std::vector<int64_t>{1, 0}}}));
  Value* t2 = b.op(OpKind::Transpose, {t1}, attrs({{"perm", std::vector<int64_t>{1, 0}}}));
  Value* c = b.op(OpKind::Cast, {t2}, attrs({{"to", int64_t{1}}}));
  b.output(b.relu(c), "y");
  auto g = b.finish();
  CHECK(run_passes(*g, {"remove-noops"}) == "%y = Relu(%x) : float32[2,3]\n");
}

TEST_CASE("remove-noops merges a Reshape chain and keeps the output's name") {
  Builder b("reshapes");
  Value* x = b.input("x", DType::Float32, fixed({2, 3, 4}));
  Value* r1 = b.op(OpKind::Reshape, {x, b.constant_ints("s1", {6, 4})});
  b.output(b.op(OpKind::Reshape, {r1, b.constant_ints("s2", {4, -1})}), "y");
  auto g = b.finish();
  CHECK(run_passes(*g, {"remove-noops", "dce"}) == "%y = Reshape(%x, %s2) {allowzero=0} : float32[4,6]\n");
}

TEST_CASE("fold-constants folds a shape subgraph of a static shape") {
  // Reshape(x, Concat(Gather(Shape(x), 0), [-1])) -> Reshape(x, [2, -1])
  Builder b("shapes");
  Value* x = b.input("x", DType::Float32, fixed({2, 3, 4}));
  Value* s = b.op(OpKind::Shape, {x});
  Value* n = b.op(OpKind::Gather, {s, b.param("zero", Tensor::from_int64s({0}, {1}))});
  Value* target = b.op(OpKind::Concat, {n, b.constant_ints("minus_one", {-1})}, attrs({{"axis", int64_t{0}}}));
  b.output(b.op(OpKind::Reshape, {x, target}), "y");
  auto g = b.finish();
  std::string text = run_passes(*g, {"fold-constants", "dce"});
  CHECK(text == "%y = Reshape(%x, %Concat_2_out) {allowzero=0} : float32[2,12]\n");
  const Value* folded = g->find_value("Concat_2_out");
  REQUIRE(folded);
  REQUIRE(folded->initializer);
  CHECK(folded->initializer->to_int64s() == std::vector<int64_t>{2, -1});
}

TEST_CASE("fold-constants respects its byte budget") {
  // ConstantOfShape([1000, 1000]) is 4 MB: folded with a 64 MB budget, kept with 1 MB.
  auto build = [] {
    Builder b("big");
    Value* x = b.input("x", DType::Float32, fixed({1000, 1000}));
    Value* big = b.op(OpKind::ConstantOfShape, {b.constant_ints("shape", {1000, 1000})},
                      attrs({{"value", floats({1.0f}, {1})}}));
    b.output(b.add(x, big), "y");
    return b.finish();
  };
  auto g = build();
  PassOptions small;
  small.fold_budget_bytes = 1 << 20;
  CHECK_FALSE(find_pass("fold-constants").fn(*g, small));
  auto g2 = build();
  CHECK(find_pass("fold-constants").fn(*g2, PassOptions{}));
}

TEST_CASE("cse merges two identical nodes") {
  Builder b("cse");
  Value* x = b.input("x", DType::Float32, fixed({4}));
  Value* a = b.op(OpKind::Sigmoid, {x});
  Value* c = b.op(OpKind::Sigmoid, {x});
  b.output(b.add(a, c), "y");
  auto g = b.finish();
  CHECK(run_passes(*g, {"cse"}) ==
        "%Sigmoid_0_out = Sigmoid(%x) : float32[4]\n"
        "%y = Add(%Sigmoid_0_out, %Sigmoid_0_out) : float32[4]\n");
}

TEST_CASE("dce removes what no output needs") {
  Builder b("dce");
  Value* x = b.input("x", DType::Float32, fixed({4}));
  b.op(OpKind::Tanh, {b.op(OpKind::Exp, {x})});
  b.output(b.relu(x), "y");
  auto g = b.finish();
  CHECK(run_passes(*g, {"dce"}) == "%y = Relu(%x) : float32[4]\n");
}

namespace {

// BN parameters with non-trivial statistics: gamma, beta, mean, var (var > 0).
std::vector<Value*> bn_params(Builder& b, const std::string& p, int64_t c) {
  std::vector<float> gamma, beta, mean, var;
  for (int64_t i = 0; i < c; ++i) {
    gamma.push_back(0.5f + 0.25f * i), beta.push_back(0.1f * i - 0.2f);
    mean.push_back(0.3f - 0.05f * i), var.push_back(0.2f + 0.5f * i);
  }
  return {b.param(p + ".g", floats(gamma, {c})), b.param(p + ".b", floats(beta, {c})),
          b.param(p + ".m", floats(mean, {c})), b.param(p + ".v", floats(var, {c}))};
}

Value* batch_norm(Builder& b, Value* x, const std::string& p, int64_t c) {
  std::vector<Value*> in = {x};
  for (Value* v : bn_params(b, p, c)) in.push_back(v);
  return b.op(OpKind::BatchNormalization, in, attrs({{"epsilon", 1e-3f}}));
}

}  // namespace

TEST_CASE("fold-batchnorm folds BN into a Conv without bias") {
  Builder b("conv_bn", 3);
  Value* x = b.input("x", DType::Float32, fixed({1, 2, 5, 5}));
  Value* w = b.random_param("w", {3, 2, 3, 3}, 0.5f);
  Value* c = b.op(OpKind::Conv, {x, w}, attrs({{"kernel_shape", std::vector<int64_t>{3, 3}}}));
  b.output(batch_norm(b, c, "bn", 3), "y");
  auto g = b.finish();
  std::string text = run_passes(*g, {"fold-batchnorm", "fold-constants", "dce"});
  INFO(text);
  CHECK(text.find("= BatchNormalization(") == std::string::npos);
  CHECK(g->nodes().size() == 1);
  CHECK(g->nodes()[0]->op == OpKind::Conv);
  CHECK(g->nodes()[0]->inputs.size() == 3);  // a bias appeared: beta - mean * scale
}

TEST_CASE("fold-batchnorm folds BN into Gemm (transB) and into MatMul + Add") {
  Builder b("linear_bn", 5);
  Value* x = b.input("x", DType::Float32, fixed({4, 6}));
  Value* h = b.linear(x, 6, 3, "fc");  // Gemm with transB = 1
  h = batch_norm(b, h, "bn1", 3);
  Value* m = b.op(OpKind::MatMul, {h, b.random_param("w2", {3, 5}, 0.5f)});
  m = b.add(m, b.random_param("b2", {5}, 0.5f));
  b.output(batch_norm(b, m, "bn2", 5), "y");
  auto g = b.finish();
  std::string text = run_passes(*g, {"fold-batchnorm", "fold-constants", "dce"});
  INFO(text);
  CHECK(text.find("= BatchNormalization(") == std::string::npos);
  CHECK(g->nodes().size() == 3);  // Gemm, MatMul, Add
}

namespace {
Value* scalar(Builder& b, const std::string& name, float v) { return b.param(name, floats({v}, {})); }
}  // namespace

TEST_CASE("recognize-activations finds SiLU and the erf form of GELU") {
  Builder b("acts");
  Value* x = b.input("x", DType::Float32, fixed({2, 8}));
  Value* silu = b.op(OpKind::Mul, {x, b.op(OpKind::Sigmoid, {x})});
  // PyTorch's export of GELU: x * 0.5 * (1 + erf(x / sqrt 2)), written (x * (1 + erf)) * 0.5
  Value* erf = b.op(OpKind::Erf, {b.op(OpKind::Div, {silu, scalar(b, "sqrt2", 1.4142135f)})});
  Value* inner = b.op(OpKind::Mul, {silu, b.add(erf, scalar(b, "one", 1.0f))});
  b.output(b.op(OpKind::Mul, {inner, scalar(b, "half", 0.5f)}), "y");
  auto g = b.finish();
  CHECK(run_passes(*g, {"recognize-activations", "dce"}) ==
        "%Mul_1_out = nnc.Silu(%x) : float32[2,8]\n"
        "%y = nnc.Gelu(%Mul_1_out) : float32[2,8]\n");
}

TEST_CASE("recognize-activations finds the tanh form of GELU") {
  Builder b("gelu_tanh");
  Value* x = b.input("x", DType::Float32, fixed({3, 5}));
  Value* cube = b.op(OpKind::Pow, {x, scalar(b, "three", 3.0f)});
  Value* inner = b.add(x, b.op(OpKind::Mul, {cube, scalar(b, "c", 0.044715f)}));
  Value* t = b.op(OpKind::Tanh, {b.op(OpKind::Mul, {inner, scalar(b, "k", 0.7978845608f)})});
  Value* half_x = b.op(OpKind::Mul, {x, scalar(b, "half", 0.5f)});
  b.output(b.op(OpKind::Mul, {half_x, b.add(t, scalar(b, "one", 1.0f))}), "y");
  auto g = b.finish();
  CHECK(run_passes(*g, {"recognize-activations", "dce"}) == "%y = nnc.GeluTanh(%x) : float32[3,5]\n");
}

TEST_CASE("recompose-layernorm rebuilds LayerNormalization from its formula") {
  Builder b("ln", 2);
  Value* x = b.input("x", DType::Float32, fixed({2, 3, 8}));
  Attributes last = attrs({{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{1}}});
  Value* mean = b.op(OpKind::ReduceMean, {x}, last);
  Value* d = b.op(OpKind::Sub, {x, mean});
  Value* var = b.op(OpKind::ReduceMean, {b.op(OpKind::Pow, {d, scalar(b, "two", 2.0f)})}, last);
  Value* y = b.op(OpKind::Div, {d, b.op(OpKind::Sqrt, {b.add(var, scalar(b, "eps", 1e-5f))})});
  y = b.op(OpKind::Mul, {y, b.random_param("gamma", {8}, 1.0f)});
  b.output(b.add(y, b.random_param("beta", {8}, 1.0f)), "y");
  auto g = b.finish();
  CHECK(run_passes(*g, {"recompose-layernorm", "dce"}, 1e-4) ==
        "%y = LayerNormalization(%x, %gamma, %beta) {axis=-1, epsilon=1e-05} : float32[2,3,8]\n");
}

TEST_CASE("fuse-gates makes one Gate of GLU (Split form) and of SwiGLU") {
  Builder b("gates", 4);
  Value* x = b.input("x", DType::Float32, fixed({2, 8, 3}));
  Node* split = b.graph().add_node(OpKind::Split, {x}, 2, "split", attrs({{"axis", int64_t{1}}}));
  Value* glu = b.op(OpKind::Mul, {split->outputs[0], b.op(OpKind::Sigmoid, {split->outputs[1]})});  // [2,4,3]
  Value* up = b.op(OpKind::Tanh, {glu});
  Value* swiglu = b.op(OpKind::Mul, {b.op(OpKind::Silu, {glu}), up});
  b.output(swiglu, "y");
  auto g = b.finish();
  CHECK(run_passes(*g, {"fuse-gates", "dce"}) ==
        "%Mul_1_out = nnc.Gate(%x) {activation=\"Sigmoid\", axis=1} : float32[2,4,3]\n"
        "%Tanh_2_out = Tanh(%Mul_1_out) : float32[2,4,3]\n"
        "%y = nnc.Gate(%Tanh_2_out, %Mul_1_out) {activation=\"Silu\"} : float32[2,4,3]\n");
}

TEST_CASE("fuse-epilogues puts a residual Add and a ReLU into the Conv") {
  Builder b("resblock", 6);
  Value* x = b.input("x", DType::Float32, fixed({1, 4, 6, 6}));
  Value* c = b.conv2d(x, 4, 4, 3, 1, 1, "conv");
  b.output(b.relu(b.add(c, x)), "y");
  auto g = b.finish();
  std::string text = run_passes(*g, {"fuse-epilogues"});
  CHECK(text ==
        "%y = nnc.FusedConv(%x, %conv.weight, %conv.bias, %x) {activation=\"Relu\", auto_pad=\"NOTSET\", group=1, "
        "kernel_shape=[3,3], pads=[1,1,1,1], strides=[1,1]} : float32[1,4,6,6]\n");
}

TEST_CASE("fuse-epilogues fuses MatMul + bias + ReLU6 (Clip), Gemm + PRelu, and Add + Sigmoid") {
  Builder b("epilogues", 8);
  Value* x = b.input("x", DType::Float32, fixed({4, 6}));
  Value* m = b.add(b.op(OpKind::MatMul, {x, b.random_param("w", {6, 6}, 0.5f)}), b.random_param("bias", {6}, 0.5f));
  Value* r6 = b.op(OpKind::Clip, {m, scalar(b, "lo", 0.0f), scalar(b, "hi", 6.0f)});
  Value* p = b.op(OpKind::PRelu, {b.linear(r6, 6, 6, "fc"), b.random_param("slope", {6}, 0.5f)});
  b.output(b.op(OpKind::Sigmoid, {b.add(p, x)}), "y");
  auto g = b.finish();
  std::string text = run_passes(*g, {"fuse-epilogues"});
  INFO(text);
  CHECK(text.find("nnc.FusedMatMul(%x, %w, %bias) {activation=\"Clip\", activation_alpha=0, activation_beta=6}") !=
        std::string::npos);
  CHECK(text.find("nnc.FusedGemm(%Clip_2_out, %fc.weight, %fc.bias, _, %slope) {activation=\"PRelu\"") !=
        std::string::npos);
  CHECK(text.find("%y = nnc.FusedAdd(%PRelu_4_out, %x) {activation=\"Sigmoid\"}") != std::string::npos);
  CHECK(g->nodes().size() == 3);
}

namespace {

// A deliberately wrong "BN folding": drops the BatchNormalization, as if its scale and
// shift had been folded into the weights, without changing the weights.
bool drop_batchnorm(Graph& g, const PassOptions&) {
  bool changed = false;
  for (Node* n : g.topological_order())
    if (n->op == OpKind::BatchNormalization && g.replace_value(n->outputs[0], n->inputs[0])) {
      g.remove_node(n);
      changed = true;
    }
  return changed;
}

std::unique_ptr<Graph> conv_bn_relu() {
  Builder b("conv_bn_relu", 9);
  Value* x = b.input("x", DType::Float32, {Dim::sym("N"), Dim::fixed(3), Dim::fixed(8), Dim::fixed(8)});
  Value* c = b.conv2d(x, 3, 4, 3, 1, 1, "conv");
  b.output(b.relu(batch_norm(b, c, "bn", 4)), "y");
  return b.finish();
}

}  // namespace

TEST_CASE("verifying numerics (nnc optimize --verify) names the pass that changed the results") {
  auto g = conv_bn_relu();
  PipelineOptions opts;
  opts.verify_numerics = true;
  opts.dim_values = {{"N", 2}};
  std::vector<PassEntry> passes = {find_pass("remove-noops"), {"drop-batchnorm", &drop_batchnorm, false, "wrong"},
                                   find_pass("dce")};
  try {
    run_pipeline(*g, passes, opts);
    FAIL("the wrong pass was not caught");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("pass 'drop-batchnorm' changed the results: output 'y' differs"));
  }
  // The real pipeline passes the same check.
  auto g2 = conv_bn_relu();
  CHECK_NOTHROW(run_pipeline(*g2, default_pipeline(3, false), opts));
  CHECK(g2->nodes().size() == 1);
  CHECK(g2->nodes()[0]->op == OpKind::FusedConv);
}

TEST_CASE("an optimised graph exports as valid ONNX (fused ops as functions) and reimports") {
  auto g = conv_bn_relu();
  ReferenceOutputs before(*g, 3, {{"N", 2}});
  run_pipeline(*g, default_pipeline(3, false), PipelineOptions{});
  onnx::ModelProto m = export_onnx_model(*g);
  REQUIRE(m.functions_size() == 1);
  CHECK(m.functions(0).domain() == "nnc");
  auto back = import_onnx_model(m, "");  // runs ONNX's checker and shape inference
  REQUIRE(back->nodes().size() == 1);
  CHECK(back->nodes()[0]->op == OpKind::FusedConv);
  CHECK(before.compare(*back, 1e-5) == "");
}

TEST_CASE("default pipelines: -O0 is empty and --standard-only leaves out nnc-op passes") {
  CHECK(default_pipeline(0, false).empty());
  for (const PassEntry& p : default_pipeline(3, true)) CHECK_FALSE(p.custom_ops);
  CHECK(default_pipeline(3, true).size() < default_pipeline(3, false).size());
  CHECK_THROWS_WITH(find_pass("no-such-pass"), Catch::Contains("unknown pass 'no-such-pass'"));
}

TEST_CASE("every activation fuses into a Conv, and the fused op round-trips through ONNX") {
  for (int i = 0; i < op_count(); ++i) {
    OpKind act = static_cast<OpKind>(i);
    if (op_info(act).category != OpCategory::Activation) continue;
    INFO(op_name(act));
    Builder b("conv_act", 11);
    Value* x = b.input("x", DType::Float32, fixed({1, 2, 5, 5}));
    b.output(b.op(act, {b.conv2d(x, 2, 3, 3, 1, 1, "conv")}), "y");
    auto g = b.finish();
    ReferenceOutputs before(*g, 5, {});
    CHECK(run_passes(*g, {"fuse-epilogues"}).rfind("%y = nnc.FusedConv(", 0) == 0);
    auto back = import_onnx_model(export_onnx_model(*g), "");
    CHECK(before.compare(*back, 1e-5) == "");
  }
}
