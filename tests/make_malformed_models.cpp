// Writes the malformed-model corpus that tests/malformed_models.sh feeds to nnc: one file
// per kind of bad input a fuzzer (or a careless exporter) produces cheaply. Every model is
// built here as a ModelProto from one small valid base, then broken in one way.
//
//   make_malformed_models OUTDIR
//
// Files are named after the defect. A case that lives in a folder (external data) writes
// OUTDIR/<case>/model.onnx plus its side files.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

fs::path g_out;

// ---- building blocks ---------------------------------------------------------------

void set_tensor_type(onnx::ValueInfoProto* vi, const std::string& name, int elem_type,
                     const std::vector<int64_t>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  shape->clear_dim();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

onnx::ValueInfoProto* add_input(onnx::GraphProto* g, const std::string& name, int elem_type,
                                const std::vector<int64_t>& dims) {
  auto* vi = g->add_input();
  set_tensor_type(vi, name, elem_type, dims);
  return vi;
}

onnx::ValueInfoProto* add_output(onnx::GraphProto* g, const std::string& name, int elem_type,
                                 const std::vector<int64_t>& dims) {
  auto* vi = g->add_output();
  set_tensor_type(vi, name, elem_type, dims);
  return vi;
}

// An output of known rank whose sizes are left symbolic (d0, d1, ...), for outputs whose
// shape only the data decides.
onnx::ValueInfoProto* add_output_sym(onnx::GraphProto* g, const std::string& name, int elem_type, int rank) {
  auto* vi = g->add_output();
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int i = 0; i < rank; ++i) shape->add_dim()->set_dim_param(name + "_d" + std::to_string(i));
  return vi;
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& ins,
                          const std::vector<std::string>& outs, const std::string& name) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : ins) n->add_input(i);
  for (const auto& o : outs) n->add_output(o);
  return n;
}

onnx::TensorProto* add_float_init(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                                  const std::vector<float>& values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return t;
}

onnx::TensorProto* add_int64_init(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                                  const std::vector<int64_t>& values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
  return t;
}

// An empty model shell: ir_version 8, default-domain opset 17, an empty graph.
onnx::ModelProto shell() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("make_malformed_models");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  m.mutable_graph()->set_name("malformed");
  return m;
}

// The valid base: y = Relu(x), x float[1,4].
onnx::ModelProto base_relu() {
  onnx::ModelProto m = shell();
  auto* g = m.mutable_graph();
  add_input(g, "x", onnx::TensorProto::FLOAT, {1, 4});
  add_node(g, "Relu", {"x"}, {"y"}, "relu");
  add_output(g, "y", onnx::TensorProto::FLOAT, {1, 4});
  return m;
}

// `depth` Ifs nested through their then_branch; the innermost graph holds one node
// innermost_op(x) -> y (an Add there has one input too few).
onnx::ModelProto nested_ifs(int depth, const std::string& innermost_op) {
  onnx::ModelProto m = base_relu();
  onnx::GraphProto* g = m.mutable_graph();
  g->clear_node();
  add_input(g, "c", onnx::TensorProto::BOOL, {});
  onnx::GraphProto* cur = g;
  for (int level = 0; level < depth; ++level) {
    auto* n = add_node(cur, "If", {"c"}, {"y"}, "if_" + std::to_string(level));
    auto* then_attr = n->add_attribute();
    then_attr->set_name("then_branch");
    then_attr->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto* then_g = then_attr->mutable_g();
    then_g->set_name("then_" + std::to_string(level));
    add_output(then_g, "y", onnx::TensorProto::FLOAT, {1, 4});
    auto* else_attr = n->add_attribute();
    else_attr->set_name("else_branch");
    else_attr->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto* else_g = else_attr->mutable_g();
    else_g->set_name("else_" + std::to_string(level));
    add_node(else_g, "Relu", {"x"}, {"y"}, "relu_" + std::to_string(level));
    add_output(else_g, "y", onnx::TensorProto::FLOAT, {1, 4});
    cur = then_g;
  }
  add_node(cur, innermost_op, {"x"}, {"y"}, "innermost");
  return m;
}

// y = Add(x, w) with an initializer w that the caller breaks.
onnx::ModelProto base_add_init(onnx::TensorProto** w) {
  onnx::ModelProto m = shell();
  auto* g = m.mutable_graph();
  add_input(g, "x", onnx::TensorProto::FLOAT, {1, 4});
  *w = add_float_init(g, "w", {1, 4}, {1, 2, 3, 4});
  add_node(g, "Add", {"x", "w"}, {"y"}, "add");
  add_output(g, "y", onnx::TensorProto::FLOAT, {1, 4});
  return m;
}

// ---- writing -----------------------------------------------------------------------

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::cerr << "make_malformed_models: cannot write " << path << "\n";
    std::exit(1);
  }
}

std::string serialize(const onnx::ModelProto& m) {
  std::string bytes;
  if (!m.SerializeToString(&bytes)) {
    std::cerr << "make_malformed_models: cannot serialize a model\n";
    std::exit(1);
  }
  return bytes;
}

void write_model(const std::string& rel, const onnx::ModelProto& m) { write_bytes(g_out / rel, serialize(m)); }

// An initializer 'w' float[1,4] whose 16 bytes live in an external file at `location`.
onnx::ModelProto external_model(const std::string& location) {
  onnx::TensorProto* w = nullptr;
  onnx::ModelProto m = base_add_init(&w);
  w->clear_raw_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value(location);
  return m;
}

std::string sixteen_bytes() {
  float v[4] = {1, 2, 3, 4};
  return std::string(reinterpret_cast<const char*>(v), sizeof v);
}

// ---- the cases ---------------------------------------------------------------------

void make_file_level_cases() {
  std::string valid = serialize(base_relu());
  write_bytes(g_out / "truncated.onnx", valid.substr(0, valid.size() / 2));
  write_bytes(g_out / "not_protobuf.onnx",
              "this is not an ONNX model, just some text that a user saved with the wrong name\n"
              "\xff\xff\xff\xff garbage \x01\x02\x03\n");
  write_bytes(g_out / "empty.onnx", "");

  // A ModelProto with no graph at all.
  onnx::ModelProto m = shell();
  m.clear_graph();
  write_model("missing_graph.onnx", m);

  // Nested If subgraphs far deeper than protobuf's default parse recursion limit (100).
  onnx::ModelProto deep = nested_ifs(200, "Relu");
  write_model("deep_nesting.onnx", deep);
  // Parseable, but nested deeper than nnc's bound (16).
  write_model("nesting_over_limit.onnx", nested_ifs(20, "Relu"));
  // An Add with one input, two If levels down: the error names the path to it.
  write_model("subgraph_bad_node.onnx", nested_ifs(2, "Add"));

  // No ir_version.
  onnx::ModelProto noir = base_relu();
  noir.clear_ir_version();
  write_model("missing_ir_version.onnx", noir);

  // A default-domain opset from the far future.
  onnx::ModelProto future = base_relu();
  future.mutable_opset_import(0)->set_version(9999);
  write_model("future_opset.onnx", future);
}

void make_graph_structure_cases() {
  {  // a = Relu(b), b = Relu(a)
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_input(g, "x", onnx::TensorProto::FLOAT, {1, 4});
    add_node(g, "Add", {"x", "b"}, {"a"}, "add_a");
    add_node(g, "Relu", {"a"}, {"b"}, "relu_b");
    add_output(g, "b", onnx::TensorProto::FLOAT, {1, 4});
    write_model("cycle.onnx", m);
  }
  {  // Add(x, ghost) where nothing produces 'ghost'
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_input(g, "x", onnx::TensorProto::FLOAT, {1, 4});
    add_node(g, "Add", {"x", "ghost"}, {"y"}, "add");
    add_output(g, "y", onnx::TensorProto::FLOAT, {1, 4});
    write_model("dangling_input.onnx", m);
  }
  {  // the graph output names a value nobody produces
    onnx::ModelProto m = base_relu();
    m.mutable_graph()->mutable_output(0)->set_name("nowhere");
    write_model("output_not_produced.onnx", m);
  }
  {  // two nodes write the same value
    onnx::ModelProto m = base_relu();
    add_node(m.mutable_graph(), "Relu", {"x"}, {"y"}, "relu_again");
    write_model("duplicate_output.onnx", m);
  }
  {  // the same initializer name twice
    onnx::TensorProto* w = nullptr;
    onnx::ModelProto m = base_add_init(&w);
    add_float_init(m.mutable_graph(), "w", {1, 4}, {5, 6, 7, 8});
    write_model("duplicate_initializer.onnx", m);
  }
  {  // Relu with two inputs
    onnx::ModelProto m = base_relu();
    m.mutable_graph()->mutable_node(0)->add_input("x");
    write_model("wrong_input_count.onnx", m);
  }
  {  // an If whose then-branch reads a value that exists nowhere
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_input(g, "x", onnx::TensorProto::FLOAT, {1, 4});
    add_input(g, "c", onnx::TensorProto::BOOL, {});
    auto* n = add_node(g, "If", {"c"}, {"y"}, "if");
    for (const char* branch : {"then_branch", "else_branch"}) {
      auto* a = n->add_attribute();
      a->set_name(branch);
      a->set_type(onnx::AttributeProto::GRAPH);
      auto* sub = a->mutable_g();
      sub->set_name(branch);
      std::string src = std::string(branch) == "then_branch" ? "phantom" : "x";
      add_node(sub, "Relu", {src}, {"r"}, std::string("relu_") + branch);
      add_output(sub, "r", onnx::TensorProto::FLOAT, {1, 4});
    }
    add_output(g, "y", onnx::TensorProto::FLOAT, {1, 4});
    write_model("subgraph_dangling_input.onnx", m);
  }
}

void make_type_and_op_cases() {
  {
    onnx::ModelProto m = base_relu();
    m.mutable_graph()->mutable_node(0)->set_op_type("FooBarOp");
    write_model("unknown_op.onnx", m);
  }
  {  // an op in a custom domain that the model imports but no nnc backend implements
    onnx::ModelProto m = base_relu();
    auto* op = m.add_opset_import();
    op->set_domain("com.example");
    op->set_version(1);
    auto* n = m.mutable_graph()->mutable_node(0);
    n->set_op_type("FooBarOp");
    n->set_domain("com.example");
    write_model("custom_domain_op.onnx", m);
  }
  {  // a string initializer with its strings in raw_data
    onnx::ModelProto m = base_relu();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("s");
    t->set_data_type(onnx::TensorProto::STRING);
    t->add_dims(2);
    t->set_raw_data("abcdef");
    write_model("string_raw_data.onnx", m);
  }
  {
    onnx::ModelProto m = base_relu();
    m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(99);
    write_model("bad_elem_type.onnx", m);
  }
  {  // an initializer whose data_type is 99
    onnx::TensorProto* w = nullptr;
    onnx::ModelProto m = base_add_init(&w);
    w->set_data_type(99);
    write_model("bad_initializer_type.onnx", m);
  }
  {  // a graph input with no type at all
    onnx::ModelProto m = base_relu();
    m.mutable_graph()->mutable_input(0)->clear_type();
    write_model("missing_input_type.onnx", m);
  }
  {  // Softmax's int attribute 'axis' given as a string
    onnx::ModelProto m = base_relu();
    auto* n = m.mutable_graph()->mutable_node(0);
    n->set_op_type("Softmax");
    auto* a = n->add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s("one");
    write_model("wrong_attribute_type.onnx", m);
  }
  {  // Conv with a 2-D weight on a 4-D input
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_input(g, "x", onnx::TensorProto::FLOAT, {1, 1, 4, 4});
    add_float_init(g, "w", {1, 1}, {1.0f});
    add_node(g, "Conv", {"x", "w"}, {"y"}, "conv");
    add_output_sym(g, "y", onnx::TensorProto::FLOAT, 2);
    write_model("conv_2d_weight.onnx", m);
  }
}

void make_size_cases() {
  {  // initializer dims [-1, 4]
    onnx::TensorProto* w = nullptr;
    onnx::ModelProto m = base_add_init(&w);
    w->set_dims(0, -1);
    write_model("negative_dim.onnx", m);
  }
  {  // graph input declaring dim -3
    onnx::ModelProto m = base_relu();
    auto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->mutable_dim(1)->set_dim_value(-3);
    write_model("negative_input_dim.onnx", m);
  }
  {  // initializer dims [2^62, 4]: the element count overflows int64
    onnx::TensorProto* w = nullptr;
    onnx::ModelProto m = base_add_init(&w);
    w->set_dims(0, int64_t{1} << 62);
    write_model("overflow_dims.onnx", m);
  }
  {  // float[2,3] needs 24 bytes; give it 10
    onnx::TensorProto* w = nullptr;
    onnx::ModelProto m = base_add_init(&w);
    w->clear_dims();
    w->add_dims(2);
    w->add_dims(3);
    w->set_raw_data(std::string(10, '\x01'));
    write_model("raw_data_size_mismatch.onnx", m);
  }
  {  // float[1,4] with five float_data values instead of four
    onnx::TensorProto* w = nullptr;
    onnx::ModelProto m = base_add_init(&w);
    w->clear_raw_data();
    for (float v : {1.f, 2.f, 3.f, 4.f, 5.f}) w->add_float_data(v);
    write_model("float_data_count_mismatch.onnx", m);
  }
  {  // y = ConstantOfShape([10000000, 1000000]): 1e13 elements, only known to be huge when run
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_int64_init(g, "shape", {2}, {10000000, 1000000});
    add_node(g, "ConstantOfShape", {"shape"}, {"y"}, "fill");
    add_output_sym(g, "y", onnx::TensorProto::FLOAT, 2);
    write_model("huge_constant_of_shape.onnx", m);
  }
  {  // y = Expand(x, [10000000, 1000000])
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_input(g, "x", onnx::TensorProto::FLOAT, {1, 1});
    add_int64_init(g, "shape", {2}, {10000000, 1000000});
    add_node(g, "Expand", {"x", "shape"}, {"y"}, "expand");
    add_output_sym(g, "y", onnx::TensorProto::FLOAT, 2);
    write_model("huge_expand.onnx", m);
  }
  {  // y = Range(0, 1e13, 1) in int64
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_int64_init(g, "start", {}, {0});
    add_int64_init(g, "limit", {}, {10000000000000});
    add_int64_init(g, "delta", {}, {1});
    add_node(g, "Range", {"start", "limit", "delta"}, {"y"}, "range");
    add_output_sym(g, "y", onnx::TensorProto::INT64, 1);
    write_model("huge_range.onnx", m);
  }
  {  // a graph input declaring float[100000, 100000, 100] (4e12 bytes): `nnc run` must not allocate it
    onnx::ModelProto m = base_relu();
    auto* g = m.mutable_graph();
    set_tensor_type(g->mutable_input(0), "x", onnx::TensorProto::FLOAT, {100000, 100000, 100});
    set_tensor_type(g->mutable_output(0), "y", onnx::TensorProto::FLOAT, {100000, 100000, 100});
    write_model("huge_input_dim.onnx", m);
  }
  {  // y = Reshape(x[1,4], [3,5]): 4 elements cannot become 15
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_input(g, "x", onnx::TensorProto::FLOAT, {1, 4});
    add_int64_init(g, "shape", {2}, {3, 5});
    add_node(g, "Reshape", {"x", "shape"}, {"y"}, "reshape");
    add_output_sym(g, "y", onnx::TensorProto::FLOAT, 2);
    write_model("reshape_bad_shape.onnx", m);
  }
  {  // y = Gather(x[1,4], [7], axis=1): a constant index past the end
    onnx::ModelProto m = shell();
    auto* g = m.mutable_graph();
    add_input(g, "x", onnx::TensorProto::FLOAT, {1, 4});
    add_int64_init(g, "idx", {1}, {7});
    auto* n = add_node(g, "Gather", {"x", "idx"}, {"y"}, "gather");
    auto* a = n->add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(1);
    add_output_sym(g, "y", onnx::TensorProto::FLOAT, 2);
    write_model("gather_index_out_of_range.onnx", m);
  }
}

void make_external_data_cases() {
  // ../secret.bin: the file exists one level up, so only the path rule can stop it.
  write_bytes(g_out / "secret.bin", sixteen_bytes());
  write_model("external_data_escape/model.onnx", external_model("../secret.bin"));

  write_model("external_data_absolute/model.onnx", external_model("/etc/passwd"));

  // link.bin -> ../secret.bin: inside the folder by name, outside once resolved.
  write_model("external_data_symlink/model.onnx", external_model("link.bin"));
  fs::path link = g_out / "external_data_symlink" / "link.bin";
  std::error_code ec;
  fs::remove(link, ec);
  fs::create_symlink(fs::absolute(g_out / "secret.bin"), link, ec);
  if (ec) {
    std::cerr << "make_malformed_models: cannot create symlink " << link << ": " << ec.message() << "\n";
    std::exit(1);
  }

  write_model("external_data_missing_file/model.onnx", external_model("nothing_here.bin"));

  {  // offset 8, length 100 into a 16-byte file
    onnx::ModelProto m = external_model("data.bin");
    auto* w = m.mutable_graph()->mutable_initializer(0);
    auto* off = w->add_external_data();
    off->set_key("offset");
    off->set_value("8");
    auto* len = w->add_external_data();
    len->set_key("length");
    len->set_value("100");
    write_model("external_data_past_end/model.onnx", m);
    write_bytes(g_out / "external_data_past_end" / "data.bin", sixteen_bytes());
  }
  {  // offset "abc"
    onnx::ModelProto m = external_model("data.bin");
    auto* off = m.mutable_graph()->mutable_initializer(0)->add_external_data();
    off->set_key("offset");
    off->set_value("abc");
    write_model("external_data_bad_offset/model.onnx", m);
    write_bytes(g_out / "external_data_bad_offset" / "data.bin", sixteen_bytes());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_malformed_models OUTDIR\n";
    return 1;
  }
  g_out = argv[1];
  std::error_code ec;
  fs::create_directories(g_out, ec);
  if (ec) {
    std::cerr << "make_malformed_models: cannot create " << g_out << ": " << ec.message() << "\n";
    return 1;
  }
  make_file_level_cases();
  make_graph_structure_cases();
  make_type_and_op_cases();
  make_size_cases();
  make_external_data_cases();
  return 0;
}
