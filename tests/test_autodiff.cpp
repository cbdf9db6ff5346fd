// Autodiff: every rule in the gradient table checked against central finite differences in
// float64 (eps 1e-6, rtol 1e-3, atol 1e-5), including broadcast operands; and the ONNX
// Gradient op expanded at import.
#include "tests/gradient_check.h"

using namespace nnc;
using namespace nnc::testing;


TEST_CASE("gradient rules of element-wise ops match finite differences") {
  check_gradient(OpKind::Identity, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Neg, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Relu, {{3, 5}}, {3, 5});
  check_gradient(OpKind::Sigmoid, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Tanh, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Exp, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Log, {{2, 3}}, {2, 3}, 0.5, 2);
  check_gradient(OpKind::Sqrt, {{2, 3}}, {2, 3}, 0.5, 2);
  check_gradient(OpKind::Reciprocal, {{2, 3}}, {2, 3}, 0.5, 2);
}

TEST_CASE("gradient rules of broadcasting binary ops sum over the broadcast axes") {
  for (OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul}) {
    check_gradient(op, {{2, 3}, {2, 3}}, {2, 3});
    check_gradient(op, {{2, 3}, {3}}, {2, 3});
    check_gradient(op, {{2, 1}, {1, 3}}, {2, 3});
  }
  check_gradient(OpKind::Div, {{2, 3}, {1, 3}}, {2, 3}, 0.5, 2);
}

TEST_CASE("reductions spread the gradient back over the reduced axes") {
  check_gradient(OpKind::ReduceSum, {{2, 3}}, {});
  check_gradient(OpKind::ReduceMean, {{2, 3}}, {});
}

TEST_CASE("gradient rules of the activations match finite differences") {
  // (ranges keep away from the kinks, where the one-sided slopes differ)
  check_gradient(GradCase{OpKind::LeakyRelu, {{2, 3}}, {{2, 3}}, with("alpha", 0.1f)});
  check_gradient(GradCase{OpKind::Elu, {{2, 3}}, {{2, 3}}, with("alpha", 0.7f)});
  for (OpKind op : {OpKind::Softplus, OpKind::Softsign, OpKind::Silu, OpKind::Gelu}) check_gradient(op, {{2, 3}}, {2, 3});
  check_gradient(GradCase{OpKind::HardSigmoid, {{2, 3}}, {{2, 3}}, with("alpha", 0.3f), {}, -4, 4});
  check_gradient(OpKind::Abs, {{2, 3}}, {2, 3});
  check_gradient(OpKind::Pow, {{2, 3}, {3}}, {2, 3}, 0.5, 2);
}

TEST_CASE("gradient rules of Celu, Selu, ThresholdedRelu, HardSwish, Mish, GeluTanh and Shrink") {
  // (ranges keep clear of the kinks: 0 for Selu, α for ThresholdedRelu, ±3 for HardSwish, ±λ for Shrink)
  check_gradient(GradCase{OpKind::Celu, {{2, 3}}, {{2, 3}}, with("alpha", 0.8f)});
  check_gradient_on(GradCase{OpKind::Selu, {{2, 3}}, {{2, 3}}}, {{-2, -0.2}, {0.2, 2}});
  check_gradient_on(GradCase{OpKind::ThresholdedRelu, {{2, 3}}, {{2, 3}}, with("alpha", 0.5f)}, {{-2, 0.4}, {0.6, 2}});
  check_gradient_on(GradCase{OpKind::HardSwish, {{2, 3}}, {{2, 3}}}, {{-5, -3.2}, {-2.8, 2.8}, {3.2, 5}});
  for (OpKind op : {OpKind::Mish, OpKind::GeluTanh}) check_gradient(op, {{2, 3}}, {2, 3}, -3, 3);
  Attributes shrink = with("lambd", 0.5f);
  shrink.set("bias", 0.3f);
  check_gradient_on(GradCase{OpKind::Shrink, {{2, 3}}, {{2, 3}}, shrink}, {{-2, -0.6}, {-0.4, 0.4}, {0.6, 2}});
}

TEST_CASE("PRelu's gradient reaches x and the broadcast slope") {
  check_gradient_on(GradCase{OpKind::PRelu, {{2, 3}, {3}}, {{2, 3}}}, {{-2, -0.2}, {0.2, 2}});
  check_gradient_on(GradCase{OpKind::PRelu, {{2, 3}, {2, 3}}, {{2, 3}}}, {{-2, -0.2}, {0.2, 2}});
}

TEST_CASE("Clip passes the gradient inside [min, max] and none outside") {
  check_gradient_on(GradCase{OpKind::Clip, {{2, 3}}, {{2, 3}}, {}, {float64(-0.5), float64(0.7)}}, {{-2, -0.6}, {-0.4, 0.6}, {0.8, 2}});
  check_gradient_on(GradCase{OpKind::Clip, {{2, 3}}, {{2, 3}}, {}, {float64(-0.5)}}, {{-2, -0.6}, {-0.4, 2}});
  check_gradient(GradCase{OpKind::Clip, {{2, 3}}, {{2, 3}}});
}

TEST_CASE("Gate's gradient: u gets act(g), g gets u times act', in both input forms") {
  for (const char* act : {"", "Sigmoid", "Silu", "Gelu", "GeluTanh", "Tanh"}) {
    INFO("activation " << act);
    check_gradient(GradCase{OpKind::Gate, {{2, 3}, {2, 3}}, {{2, 3}}, with("activation", std::string(act))});
    Attributes split = with("activation", std::string(act));
    split.set("axis", int64_t{-1});
    check_gradient(GradCase{OpKind::Gate, {{2, 4}}, {{2, 2}}, split});
    split.set("axis", int64_t{0});
    check_gradient(GradCase{OpKind::Gate, {{4, 3}}, {{2, 3}}, split});
  }
  // activations with attributes, away from their kinks
  Attributes hard = with("activation", std::string("HardSigmoid"));
  hard.set("activation_alpha", 0.3f);
  hard.set("activation_beta", 0.4f);
  check_gradient(GradCase{OpKind::Gate, {{2, 3}, {2, 3}}, {{2, 3}}, hard, {}, -1, 1});
  Attributes leaky = with("activation", std::string("LeakyRelu"));
  leaky.set("activation_alpha", 0.2f);
  check_gradient_on(GradCase{OpKind::Gate, {{2, 3}, {2, 3}}, {{2, 3}}, leaky}, {{-2, -0.2}, {0.2, 2}});
  Attributes clip = with("activation", std::string("Clip"));
  clip.set("activation_alpha", -0.5f);
  clip.set("activation_beta", 0.5f);
  check_gradient_on(GradCase{OpKind::Gate, {{2, 3}, {2, 3}}, {{2, 3}}, clip}, {{-0.4, 0.4}, {0.6, 2}});
}

TEST_CASE("Max and Min send the gradient to the selected input, broadcast ones summed") {
  for (OpKind op : {OpKind::Max, OpKind::Min}) {
    check_gradient(op, {{2, 3}}, {2, 3});
    check_gradient(op, {{2, 3}, {2, 3}}, {2, 3});
    check_gradient(op, {{2, 3}, {3}, {2, 1}}, {2, 3});
  }
}

TEST_CASE("Softmax and LogSoftmax gradients, over the last and a middle axis") {
  for (OpKind op : {OpKind::Softmax, OpKind::LogSoftmax}) {
    check_gradient(op, {{2, 4}}, {2, 4});
    check_gradient(GradCase{op, {{2, 3, 2}}, {{2, 3, 2}}, with("axis", int64_t{1})});
  }
}

TEST_CASE("movement ops move the gradient back: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split") {
  check_gradient(GradCase{OpKind::Reshape, {{2, 3}}, {{3, 2}}, {}, {int64s({3, 2})}});
  check_gradient(GradCase{OpKind::Flatten, {{2, 3, 2}}, {{2, 6}}});
  check_gradient(GradCase{OpKind::Squeeze, {{2, 1, 3}}, {{2, 3}}, {}, {int64s({1})}});
  check_gradient(GradCase{OpKind::Unsqueeze, {{2, 3}}, {{2, 1, 3}}, {}, {int64s({1})}});
  check_gradient(GradCase{OpKind::Transpose, {{2, 3, 4}}, {{4, 2, 3}}, with("perm", std::vector<int64_t>{2, 0, 1})});
  check_gradient(GradCase{OpKind::Concat, {{2, 3}, {2, 1}}, {{2, 4}}, with("axis", int64_t{1})});
  check_gradient(GradCase{OpKind::Split, {{5, 2}}, {{2, 2}, {3, 2}}, with("axis", int64_t{0}), {int64s({2, 3})}});
}

TEST_CASE("MatMul's gradient: dA = dY Bt, dB = At dY, batch broadcast summed") {
  check_gradient(OpKind::MatMul, {{2, 3}, {3, 4}}, {2, 4});
  check_gradient(OpKind::MatMul, {{2, 2, 3}, {3, 4}}, {2, 2, 4});
}

TEST_CASE("a value used twice gets the sum of both paths' gradients") {
  // y = x * x: dy/dx = 2x
  Graph g;
  Value* x = g.add_input("x", DType::Float64, {Dim::fixed(3)});
  Node* sq = g.add_node(OpKind::Mul, {x, x}, 1, "sq");
  sq->outputs[0]->dtype = DType::Float64;
  sq->outputs[0]->dims = x->dims;
  g.outputs = {sq->outputs[0]};
  g.outputs.push_back(build_gradients(g, sq->outputs[0], {x})[0]);
  Tensor in(DType::Float64, {3});
  for (int i = 0; i < 3; ++i) in.set_double(i, i - 1.5);
  auto out = run_reference(g, {{"x", in}});
  for (int i = 0; i < 3; ++i) CHECK(out[1].at_double(i) == Catch::Detail::Approx(2 * (i - 1.5)));
}

TEST_CASE("an op without a gradient rule is a clear error naming the node") {
  Graph g;
  Value* x = g.add_input("x", DType::Float32, {Dim::fixed(3)});
  Node* n = g.add_node(OpKind::Floor, {x}, 1, "floor_node");
  n->outputs[0]->dtype = DType::Float32;
  g.outputs = {n->outputs[0]};
  CHECK_THROWS_WITH(build_gradients(g, n->outputs[0], {x}), Catch::Contains("floor_node") && Catch::Contains("no gradient rule"));
}
