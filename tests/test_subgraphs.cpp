// Subgraphs (If, Loop, Scan, SequenceMap) and sequence/optional values through the whole
// tool: import, the optimizer, export, the ONNX checker, re-import and the interpreter.
#include <catch2/catch.hpp>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>

#include "frontend/onnx.h"
#include "frontend/onnx_types.h"
#include "passes/pass_manager.h"
#include "runtime/interpreter.h"

using namespace nnc;
namespace fs = std::filesystem;

namespace {

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

bool close(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (std::fabs(a.at_double(i) - b.at_double(i)) > 1e-6 + 1e-4 * std::fabs(b.at_double(i))) return false;
  return true;
}

bool close(const RuntimeValue& a, const RuntimeValue& b) {
  if (a.kind != b.kind || a.optional != b.optional || a.present != b.present) return false;
  if (a.kind == TypeKind::Tensor) return !a.present || close(a.tensor, b.tensor);
  if (a.sequence.size() != b.sequence.size()) return false;
  for (size_t i = 0; i < a.sequence.size(); ++i) if (!close(a.sequence[i], b.sequence[i])) return false;
  return true;
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> ins,
                          std::vector<std::string> outs, const std::string& name) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& i : ins) n->add_input(i);
  for (auto& o : outs) n->add_output(o);
  return n;
}

void add_float_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name, int n) {
  auto* vi = list->Add();
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(n);
}

}  // namespace

TEST_CASE("control-flow and sequence models survive optimize, export, the checker and re-import") {
  for (const char* name : {"test_if_opt", "test_if_seq", "test_loop13_seq", "test_loop16_seq_none", "test_scan9_sum",
                           "test_scan_sum", "test_sequence_map_add_2_sequences", "test_range_float_type_positive_delta_expanded",
                           "test_optional_get_element_sequence", "test_sequence_insert_at_front"}) {
    INFO(name);
    fs::path test = kNodeTests / name;
    if (!fs::exists(test)) FAIL("missing ONNX test data (install libonnx-testdata): " << test);
    auto g = import_onnx_file((test / "model.onnx").string());
    run_pipeline(*g, default_pipeline(3, false), PipelineOptions{});
    onnx::ModelProto exported = export_onnx_model(*g);
    CHECK_NOTHROW(onnx::checker::check_model(exported));
    auto g2 = import_onnx_model(exported, "");
    ValueMap feeds;
    for (size_t i = 0; i < g2->inputs.size(); ++i)
      feeds[g2->inputs[i]->name] = read_value_pb((test / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb")).string(), *g2->inputs[i]);
    RuntimeValues got = run_reference_values(*g2, feeds);
    REQUIRE(got.size() == g2->outputs.size());
    for (size_t i = 0; i < got.size(); ++i) {
      RuntimeValue want = read_value_pb((test / "test_data_set_0" / ("output_" + std::to_string(i) + ".pb")).string(), *g2->outputs[i]);
      CHECK(close(got[i], want));
    }
  }
}

TEST_CASE("a subgraph reading an outer value that a pass renamed exports under the new name") {
  // t = Identity(x); y = If(c) then {Add(t, t)} else {Neg(t)}; remove-noops bypasses the Identity,
  // so the branches' captured t is bound to x.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("captures");
  add_float_value(g->mutable_input(), "x", 2);
  auto* c = g->add_input();
  c->set_name("c");
  c->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::BOOL);
  c->mutable_type()->mutable_tensor_type()->mutable_shape();
  add_node(g, "Identity", {"x"}, {"t"}, "copy");
  auto* if_node = add_node(g, "If", {"c"}, {"y"}, "pick");
  for (auto [attr, op] : {std::pair{"then_branch", "Add"}, std::pair{"else_branch", "Neg"}}) {
    auto* a = if_node->add_attribute();
    a->set_name(attr);
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* sub = a->mutable_g();
    sub->set_name(attr);
    if (std::string(op) == "Add") add_node(sub, op, {"t", "t"}, {"r"}, "double");
    else add_node(sub, op, {"t"}, {"r"}, "negate");
    add_float_value(sub->mutable_output(), "r", 2);
  }
  add_float_value(g->mutable_output(), "y", 2);

  auto graph = import_onnx_model(m, "");
  auto runs = run_pipeline(*graph, {find_pass("remove-noops"), find_pass("dce")}, PipelineOptions{});
  REQUIRE(runs.at(0).changed);
  REQUIRE(graph->find_value("t") == nullptr);
  onnx::ModelProto exported = export_onnx_model(*graph);
  CHECK_NOTHROW(onnx::checker::check_model(exported));
  auto again = import_onnx_model(exported, "");
  Tensor x = Tensor::from_floats({1.5f, -2}, {2});
  for (bool cond : {true, false}) {
    Tensor ct(DType::Bool, {});
    ct.data<bool>()[0] = cond;
    std::vector<Tensor> y = run_reference(*again, {{"x", x}, {"c", ct}});
    CHECK(y.at(0) == Tensor::from_floats(cond ? std::vector<float>{3, -4} : std::vector<float>{-1.5f, 2}, {2}));
  }
}
