// nnc check MODEL [--backend B]: a pre-flight check listing every unsupported op, dtype
// and dynamic dimension, with node names. Exit 0 when the model can run. For the cpu
// backend it compiles the model (symbolic dims taken as 1) and lists the nodes that run on
// reference kernels, each with the reason.
#include <iostream>

#include "frontend/onnx.h"
#include "runtime/session.h"
#include "runtime/tensor_io.h"
#include "tools/commands.h"

namespace nnc::cli {

CommandFn add_check_command(CLI::App& app) {
  struct Opts { std::string model; std::string backend = "cpu"; };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("check", "Check that a model is valid and every op can run on a backend");
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  sub->add_option("--backend", o->backend, "Backend to check against")->check(CLI::IsMember(kBackends));
  return [o]() {
    auto g = import_onnx_file(o->model);  // throws on an invalid model
    std::vector<std::string> problems;
    for (const std::string& n : unsupported_nodes(*g)) problems.push_back("unsupported op: " + n);
    std::vector<std::string> notes;
    for (const Value* v : g->inputs) {
      if (!v->dims) { notes.push_back("input '" + v->name + "' has unknown rank"); continue; }
      for (size_t i = 0; i < v->dims->size(); ++i)
        if (!(*v->dims)[i].is_static())
          notes.push_back("dynamic dimension: input '" + v->name + "' dim " + std::to_string(i) +
                          ((*v->dims)[i].symbol.empty() ? "" : " ('" + (*v->dims)[i].symbol + "')") +
                          " — the " + o->backend + " backend takes its size from the input data");
    }
    std::cout << o->model << ": " << g->nodes().size() << " nodes, opset " << g->opset << ", backend " << o->backend << "\n";
    for (const auto& n : notes) std::cout << "  note: " << n << "\n";
    for (const auto& p : problems) std::cout << "  " << p << "\n";
    if (!problems.empty()) {
      std::cout << problems.size() << " problem(s): the model cannot run on the " << o->backend << " backend\n";
      return kBadModel;
    }
    if (o->backend == "cpu") {
      std::map<std::string, Shape> shapes;
      bool tensors_only = true;
      for (size_t i = 0; i < g->inputs.size(); ++i) {
        if (!g->inputs[i]->is_plain_tensor()) { tensors_only = false; break; }
        shapes[g->inputs[i]->name] = random_input(*g->inputs[i], 0, {}).shape();
      }
      std::shared_ptr<const Graph> shared(std::move(g));
      Session session(shared, SessionOptions{"cpu"});
      if (tensors_only) session.prepare(shapes);
      if (auto program = session.program()) {
        cpu::CompileReport r = session.last_report();
        std::cout << "  " << r.kernels << " compiled kernels; " << r.fallbacks.size() << " node(s) on reference kernels\n";
        for (const std::string& f : r.fallbacks) std::cout << "  reference kernel: " << f << "\n";
      }
    }
    std::cout << "ok: every op is supported\n";
    return kOk;
  };
}

}  // namespace nnc::cli
