// nnc run MODEL [INPUT ...]: runs a model on given or seeded random inputs and prints a
// summary of each output; --save-outputs DIR writes DIR/output_<i>.pb.
#include <filesystem>
#include <iostream>

#include "frontend/onnx.h"
#include "frontend/onnx_types.h"
#include "runtime/session.h"
#include "tools/commands.h"
#include "runtime/tensor_io.h"

namespace nnc::cli {

namespace {

struct RunOpts {
  std::string model;
  std::vector<std::string> inputs;
  std::string backend = "cpu";
  std::string save_dir;
  uint64_t seed = 0;
  std::vector<std::string> dims;
  int level = 3;
};

// A tensor (.pb or .npy), or for sequence and optional inputs a SequenceProto / OptionalProto;
// see read_value_pb.
RuntimeValue read_input(const Value& v, const std::string& path) {
  if (path.size() >= 4 && path.substr(path.size() - 4) == ".npy") return read_tensor_file(path);
  return read_value_pb(path, v);
}

std::string summarize(const RuntimeValue& v) {
  if (v.is_plain_tensor()) return summarize(v.tensor);
  std::string s = v.type_str();
  if (v.present && v.kind == TypeKind::Tensor) s += ": " + summarize(v.tensor);
  for (size_t i = 0; v.present && i < v.sequence.size(); ++i) s += "\n  [" + std::to_string(i) + "] " + summarize(v.sequence[i]);
  return s;
}

// Inputs are matched to graph inputs in order, or by NAME=FILE; the rest are random.
ValueMap gather_inputs(const Graph& g, const RunOpts& o) {
  ValueMap feeds;
  size_t positional = 0;
  for (const std::string& arg : o.inputs) {
    auto eq = arg.find('=');
    if (eq != std::string::npos && eq > 0 && !std::filesystem::exists(arg)) {
      std::string name = arg.substr(0, eq);
      const Value* input = nullptr;
      for (const Value* v : g.inputs) if (v->name == name) input = v;
      if (!input) throw Error("the model has no input named '" + name + "'", ErrorKind::Runtime);
      feeds[name] = read_input(*input, arg.substr(eq + 1));
    } else {
      if (positional >= g.inputs.size())
        throw Error("more input files than the model's " + std::to_string(g.inputs.size()) + " inputs", ErrorKind::Runtime);
      const Value* input = g.inputs[positional++];
      feeds[input->name] = read_input(*input, arg);
    }
  }
  std::map<std::string, int64_t> dim_values = parse_dim_values(o.dims);
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const Value* v = g.inputs[i];
    if (feeds.count(v->name)) continue;
    if (!v->is_plain_tensor())
      throw Error("input '" + v->name + "' is a " + v->type_str() + ": give it as a file", ErrorKind::Runtime);
    Tensor t = random_input(*v, o.seed + i, dim_values);
    std::cout << "input  " << v->name << ": random " << summarize(t, 0) << " (seed " << o.seed + i << ")\n";
    feeds[v->name] = std::move(t);
  }
  return feeds;
}

}  // namespace

CommandFn add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOpts>();
  CLI::App* sub = app.add_subcommand("run", "Run a model and print its outputs");
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  sub->add_option("INPUT", o->inputs, "Input tensors (.pb or .npy), in graph-input order or as NAME=FILE");
  sub->add_option("--backend", o->backend, "Backend to run on")->check(CLI::IsMember(kBackends));
  sub->add_option("--save-outputs", o->save_dir, "Write each output to DIR/output_<i>.pb (a TensorProto, or a SequenceProto / OptionalProto)");
  sub->add_option("--seed", o->seed, "Seed for random inputs");
  sub->add_option("--dim", o->dims, "Size of a symbolic dimension for random inputs, NAME=SIZE (default 1)");
  add_level_option(*sub, o->level);
  return [o]() {
    std::shared_ptr<const Graph> g = load_model(o->model, o->level);
    ValueMap feeds = gather_inputs(*g, *o);
    Session session(g, SessionOptions{o->backend});
    RuntimeValues outs = session.run(feeds);
    if (o->backend == "cpu") std::cerr << describe_compilation(session) << "\n";
    if (!o->save_dir.empty()) std::filesystem::create_directories(o->save_dir);
    for (size_t i = 0; i < outs.size(); ++i) {
      std::cout << "output " << g->outputs[i]->name << ": " << summarize(outs[i]) << "\n";
      if (!o->save_dir.empty())
        write_value_pb(outs[i], o->save_dir + "/output_" + std::to_string(i) + ".pb", g->outputs[i]->name);
    }
    return kOk;
  };
}

}  // namespace nnc::cli
