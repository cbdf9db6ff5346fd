// IR unit tests: dtypes, checked sizes, graph structure, topological order, verifier, printer.
#include <catch2/catch.hpp>

#include "ir/checked.h"
#include "ir/error.h"
#include "ir/graph.h"
#include "ir/printer.h"
#include "ir/verifier.h"

using namespace nnc;

TEST_CASE("Half and BFloat16 round to nearest even (bit patterns from the IEEE tables)") {
  CHECK(Half(1.0f).bits == 0x3c00);
  CHECK(Half(-2.0f).bits == 0xc000);
  CHECK(Half(65504.0f).bits == 0x7bff);             // largest finite half
  CHECK(Half(70000.0f).bits == 0x7c00);             // overflow -> +inf
  CHECK(Half(5.9604644775390625e-08f).bits == 0x0001);  // smallest subnormal 2^-24
  CHECK(static_cast<float>(Half(0.333251953125f)) == 0.333251953125f);  // exactly representable
  CHECK(BFloat16(1.0f).bits == 0x3f80);
  CHECK(static_cast<float>(BFloat16(3.140625f)) == 3.140625f);
}

TEST_CASE("checked size arithmetic refuses overflow, negatives and huge tensors") {
  CHECK(checked_mul(3, 4, "x") == 12);
  CHECK_THROWS_AS(checked_mul(int64_t{1} << 62, 4, "x"), Error);
  CHECK_THROWS_AS(checked_mul(-1, 4, "x"), Error);
  CHECK_THROWS_AS(Tensor(DType::Float32, {10000000, 1000000}), Error);  // 1e13 elements
  CHECK_THROWS_AS(Tensor(DType::Float32, {-2, 3}), Error);
  CHECK(Tensor(DType::Float32, {0, 5}).numel() == 0);
}

TEST_CASE("tensor cast follows ONNX semantics") {
  Tensor f = Tensor::from_floats({1.7f, -2.5f, NAN, 1e10f}, {4});
  Tensor i = f.cast(DType::Int32);
  CHECK(i.data<int32_t>()[0] == 1);    // truncation toward zero
  CHECK(i.data<int32_t>()[1] == -2);
  CHECK(i.data<int32_t>()[2] == 0);    // NaN -> 0 (defined, not UB)
  CHECK(i.data<int32_t>()[3] == 2147483647);  // saturates
  Tensor s = Tensor::from_floats({0.5f, 0.039187793f}, {2}).cast(DType::String);
  CHECK(s.strings()[0] == "0.5");
  CHECK(s.strings()[1] == "0.039187793");
}

namespace {
// x -> Relu -> Add(x) -> y
std::unique_ptr<Graph> small_graph() {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input("x", DType::Float32, {Dim::sym("N"), Dim::fixed(4)});
  Node* r = g->add_node(OpKind::Relu, {x}, 1, "relu");
  Node* a = g->add_node(OpKind::Add, {r->outputs[0], x}, 1, "add");
  g->outputs.push_back(a->outputs[0]);
  return g;
}
}  // namespace

TEST_CASE("graph use lists and topological order") {
  auto g = small_graph();
  Value* x = g->inputs[0];
  CHECK(x->users.size() == 2);
  auto order = g->topological_order();
  REQUIRE(order.size() == 2);
  CHECK(order[0]->name == "relu");
  CHECK(order[1]->name == "add");
  CHECK_NOTHROW(verify_graph(*g));
}

TEST_CASE("verifier rejects cycles, dangling values and bad arity") {
  SECTION("cycle") {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input("x", DType::Float32, {Dim::fixed(1)});
    Value* loop = g->add_value("loop");
    Node* a = g->add_node(OpKind::Add, {x, loop}, 1, "a");
    Node* b = g->add_node(OpKind::Relu, {a->outputs[0]}, 0, "b");
    g->set_producer(b, 0, loop);
    g->outputs.push_back(loop);
    CHECK_THROWS_WITH(verify_graph(*g), Catch::Contains("cycle"));
  }
  SECTION("dangling input") {
    auto g = std::make_unique<Graph>();
    Value* ghost = g->add_value("ghost", DType::Float32);
    Node* r = g->add_node(OpKind::Relu, {ghost}, 1, "r");
    g->outputs.push_back(r->outputs[0]);
    CHECK_THROWS_WITH(verify_graph(*g), Catch::Contains("ghost") && Catch::Contains("not produced"));
  }
  SECTION("arity from the ONNX schema") {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input("x", DType::Float32, {Dim::fixed(1)});
    Node* a = g->add_node(OpKind::Add, {x}, 1, "lonely_add");
    g->outputs.push_back(a->outputs[0]);
    CHECK_THROWS_WITH(verify_graph(*g), Catch::Contains("lonely_add") && Catch::Contains("inputs"));
  }
}

TEST_CASE("printer shows inputs, nodes with attributes and types, outputs") {
  auto g = small_graph();
  g->nodes()[0]->attrs.set("note", std::string("hi"));
  std::string text = print_graph(*g);
  CHECK(text ==
        "graph main (opset 17)\n"
        "  input  %x: float32[N,4]\n"
        "  %relu_out = Relu(%x) {note=\"hi\"} : undefined[?]\n"
        "  %add_out = Add(%relu_out, %x) : undefined[?]\n"
        "  output %add_out\n");
}

TEST_CASE("ops.def is the single op table") {
  CHECK(find_op("", "Conv") == OpKind::Conv);
  CHECK(find_op("ai.onnx", "Relu") == OpKind::Relu);
  CHECK(find_op("nnc", "Silu") == OpKind::Silu);
  CHECK_FALSE(find_op("", "Silu").has_value());
  CHECK(op_info(OpKind::Gemm).category == OpCategory::Linear);
  CHECK(std::string(op_name(OpKind::LayerNormalization)) == "LayerNormalization");
}
