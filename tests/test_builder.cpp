// The C++ builder: graphs in a few lines, typed by ONNX shape inference, runnable and exportable.
#include <catch2/catch.hpp>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "frontend/builder.h"
#include "frontend/onnx.h"
#include "runtime/interpreter.h"

using namespace nnc;

TEST_CASE("an MLP built in a few lines is typed, runs and exports as valid ONNX") {
  Builder b("mlp", 1);
  Value* x = b.input("x", DType::Float32, {Dim::sym("N"), Dim::fixed(784)});
  Value* h = b.relu(b.linear(x, 784, 300, "fc1"));
  h = b.relu(b.linear(h, 300, 100, "fc2"));
  b.output(b.linear(h, 100, 10, "fc3"), "logits");
  auto g = b.finish();
  REQUIRE(g->outputs.size() == 1);
  const Value* logits = g->outputs[0];
  CHECK(logits->dtype == DType::Float32);
  REQUIRE(logits->dims);
  CHECK(dims_str(*logits->dims) == "[N,10]");
  Tensor in(DType::Float32, {3, 784});
  CHECK(run_reference(*g, {{"x", in}})[0].shape() == Shape{3, 10});
  CHECK_NOTHROW(onnx::checker::check_model(export_onnx_model(*g)));
}

TEST_CASE("a conv-BN-ReLU block computes what the arithmetic says") {
  Builder b("block");
  Value* x = b.input("x", DType::Float32, {Dim::fixed(1), Dim::fixed(1), Dim::fixed(2), Dim::fixed(2)});
  // 1x1 conv with weight 2 and bias 1, BN with identity statistics, then ReLU.
  Tensor w = Tensor::from_floats({2.0f}, {1, 1, 1, 1});
  Tensor bias = Tensor::from_floats({1.0f}, {1});
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{1, 1});
  Value* c = b.op(OpKind::Conv, {x, b.param("w", w), b.param("b", bias)}, a);
  b.output(b.relu(b.batch_norm(c, 1, "bn")), "y");
  auto g = b.finish();
  Tensor in = Tensor::from_floats({-3, -0.25f, 0.5f, 2}, {1, 1, 2, 2});
  Tensor y = run_reference(*g, {{"x", in}})[0];
  // relu(2x + 1) / sqrt(1 + 1e-5)
  std::vector<float> want = {0, 0.5f, 2, 5};
  for (int i = 0; i < 4; ++i) CHECK(y.data<float>()[i] == Catch::Detail::Approx(want[i] / std::sqrt(1.00001f)));
}
