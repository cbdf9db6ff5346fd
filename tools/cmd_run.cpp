// nnc run MODEL [INPUT ...]: runs a model on given or seeded random inputs and prints a
// summary of each output; --save-outputs DIR writes DIR/output_<i>.pb.
#include <filesystem>
#include <iostream>

#include "frontend/onnx.h"
#include "runtime/interpreter.h"
#include "tools/commands.h"
#include "runtime/tensor_io.h"

namespace nnc::cli {

namespace {

struct RunOpts {
  std::string model;
  std::vector<std::string> inputs;
  std::string backend = "reference";
  std::string save_dir;
  uint64_t seed = 0;
  std::vector<std::string> dims;
};

// Inputs are matched to graph inputs in order, or by NAME=FILE; the rest are random.
TensorMap gather_inputs(const Graph& g, const RunOpts& o) {
  TensorMap feeds;
  size_t positional = 0;
  for (const std::string& arg : o.inputs) {
    auto eq = arg.find('=');
    if (eq != std::string::npos && eq > 0 && !std::filesystem::exists(arg)) {
      std::string name = arg.substr(0, eq);
      bool known = false;
      for (const Value* v : g.inputs) known |= v->name == name;
      if (!known) throw Error("the model has no input named '" + name + "'", ErrorKind::Runtime);
      feeds[name] = read_tensor_file(arg.substr(eq + 1));
    } else {
      if (positional >= g.inputs.size())
        throw Error("more input files than the model's " + std::to_string(g.inputs.size()) + " inputs", ErrorKind::Runtime);
      feeds[g.inputs[positional++]->name] = read_tensor_file(arg);
    }
  }
  std::map<std::string, int64_t> dim_values = parse_dim_values(o.dims);
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const Value* v = g.inputs[i];
    if (feeds.count(v->name)) continue;
    feeds[v->name] = random_input(*v, o.seed + i, dim_values);
    std::cout << "input  " << v->name << ": random " << summarize(feeds[v->name], 0) << " (seed " << o.seed + i << ")\n";
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
  sub->add_option("--save-outputs", o->save_dir, "Write each output to DIR/output_<i>.pb");
  sub->add_option("--seed", o->seed, "Seed for random inputs");
  sub->add_option("--dim", o->dims, "Size of a symbolic dimension for random inputs, NAME=SIZE (default 1)");
  return [o]() {
    auto g = import_onnx_file(o->model);
    TensorMap feeds = gather_inputs(*g, *o);
    std::vector<Tensor> outs = run_reference(*g, feeds);
    if (!o->save_dir.empty()) std::filesystem::create_directories(o->save_dir);
    for (size_t i = 0; i < outs.size(); ++i) {
      std::cout << "output " << g->outputs[i]->name << ": " << summarize(outs[i]) << "\n";
      if (!o->save_dir.empty())
        write_tensor_pb(outs[i], o->save_dir + "/output_" + std::to_string(i) + ".pb", g->outputs[i]->name);
    }
    return kOk;
  };
}

}  // namespace nnc::cli
