// ONNX import/export: tensors, round trips, the checker on exported models, external data.
#include <catch2/catch.hpp>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "frontend/onnx.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "runtime/interpreter.h"
#include "runtime/tensor_io.h"

using namespace nnc;
namespace fs = std::filesystem;

namespace {

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("nnc_test_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TensorMap test_inputs(const Graph& g, const fs::path& test) {
  TensorMap feeds;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    feeds[g.inputs[i]->name] = read_tensor_pb((test / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb")).string());
  return feeds;
}

}  // namespace

TEST_CASE("TensorProto round trip keeps dtype, shape and bytes") {
  Tensor h(DType::Float16, {3});
  h.data<Half>()[0] = Half(1.5f), h.data<Half>()[1] = Half(-0.25f), h.data<Half>()[2] = Half(65504.0f);
  CHECK(tensor_from_proto(tensor_to_proto(h, "h")) == h);
  Tensor s(DType::String, {2});
  s.strings() = {"hello", ""};
  CHECK(tensor_from_proto(tensor_to_proto(s, "s")) == s);
  Tensor i8(DType::Int8, {2, 2});
  i8.data<int8_t>()[3] = -128;
  CHECK(tensor_from_proto(tensor_to_proto(i8)) == i8);
}

TEST_CASE("typed TensorProto fields must match the shape") {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(2);
  p.add_dims(2);
  p.add_float_data(1.0f);
  CHECK_THROWS_WITH(tensor_from_proto(p), Catch::Contains("'w'") && Catch::Contains("needs 4"));
}

TEST_CASE("import -> export -> import gives the same graph and the same outputs") {
  for (const char* name : {"test_conv_with_strides_padding", "test_gemm_all_attributes", "test_layer_normalization_4d_axis0",
                           "test_maxpool_2d_pads", "test_sce_mean_weight_ii_3d_log_prob", "test_resize_downsample_scales_linear"}) {
    INFO(name);
    fs::path test = kNodeTests / name;
    if (!fs::exists(test)) FAIL("missing ONNX test data (install libonnx-testdata): " << test);
    auto g1 = import_onnx_file((test / "model.onnx").string());
    onnx::ModelProto exported = export_onnx_model(*g1);
    CHECK_NOTHROW(onnx::checker::check_model(exported));
    auto g2 = import_onnx_model(exported, "");
    CHECK(print_graph(*g1) == print_graph(*g2));
    TensorMap feeds = test_inputs(*g1, test);
    auto o1 = run_reference(*g1, feeds), o2 = run_reference(*g2, feeds);
    REQUIRE(o1.size() == o2.size());
    for (size_t i = 0; i < o1.size(); ++i) CHECK(o1[i] == o2[i]);
  }
}

TEST_CASE("older opsets are converted to the canonical opset with ONNX's converter") {
  fs::path test = kNodeTests / "test_upsample_nearest";  // opset 9 Upsample -> opset 17 Resize
  auto g = import_onnx_file((test / "model.onnx").string());
  CHECK(g->opset == kCanonicalOpset);
}

TEST_CASE("export refuses to overwrite a file unless asked") {
  fs::path dir = temp_dir("overwrite");
  auto g = import_onnx_file((kNodeTests / "test_relu" / "model.onnx").string());
  fs::path out = dir / "m.onnx";
  export_onnx_file(*g, out.string());
  CHECK_THROWS_WITH(export_onnx_file(*g, out.string()), Catch::Contains("already exists"));
  CHECK_NOTHROW(export_onnx_file(*g, out.string(), /*overwrite=*/true));
}

TEST_CASE("external data inside the model folder is loaded") {
  fs::path dir = temp_dir("external");
  std::vector<float> w = {1.5f, -2.0f, 3.25f};
  { std::ofstream(dir / "weights.bin", std::ios::binary).write(reinterpret_cast<const char*>(w.data()), 12); }
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("ext");
  auto* init = g->add_initializer();
  init->set_name("w");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(3);
  init->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = init->add_external_data();
  loc->set_key("location");
  loc->set_value("weights.bin");
  auto* node = g->add_node();
  node->set_op_type("Relu");
  node->add_input("w");
  node->add_output("y");
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(3);
  { std::ofstream f(dir / "model.onnx", std::ios::binary); m.SerializeToOstream(&f); }
  auto graph = import_onnx_file((dir / "model.onnx").string());
  Tensor y = run_reference(*graph, {})[0];
  CHECK(std::vector<float>(y.data<float>(), y.data<float>() + 3) == std::vector<float>{1.5f, 0.0f, 3.25f});
}

TEST_CASE(".npy files round trip") {
  fs::path dir = temp_dir("npy");
  Tensor t = Tensor::from_floats({1, 2, 3, 4, 5, 6}, {2, 3});
  write_npy(t, (dir / "t.npy").string());
  CHECK(read_npy((dir / "t.npy").string()) == t);
}
