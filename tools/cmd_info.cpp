// nnc info MODEL: inputs/outputs, opset, op histogram, parameters and a FLOPs estimate.
#include <cstdio>
#include <iostream>

#include "frontend/onnx.h"
#include "ir/printer.h"
#include "runtime/model_stats.h"
#include "tools/commands.h"

namespace nnc::cli {

static std::string human(double v, const char* unit) {
  const char* prefixes[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (v >= 1000 && i < 4) v /= 1000, ++i;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s%s", v, prefixes[i], unit);
  return buf;
}

CommandFn add_info_command(CLI::App& app) {
  struct Opts { std::string model; bool ir = false; };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("info", "Show a model's inputs, outputs, ops, parameters and FLOPs");
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  sub->add_flag("--ir", o->ir, "Also print the IR as text");
  return [o]() {
    auto g = import_onnx_file(o->model);
    std::cout << "model:   " << o->model << "\n";
    std::cout << "opset:   " << g->opset << "\n";
    std::cout << "inputs:\n";
    for (const Value* v : g->inputs) std::cout << "  " << v->name << ": " << v->type_str() << "\n";
    std::cout << "outputs:\n";
    for (const Value* v : g->outputs) std::cout << "  " << v->name << ": " << v->type_str() << "\n";
    ModelStats s = compute_stats(*g);
    std::cout << "nodes:   " << g->nodes().size() << "\n";
    std::cout << "ops:\n";
    for (auto& [op, count] : s.op_histogram) std::printf("  %-28s %6d\n", op.c_str(), count);
    std::cout << "parameters: " << s.parameters << " (" << human(static_cast<double>(s.parameter_bytes), "B") << ")\n";
    std::cout << "FLOPs:      " << human(s.flops, "FLOP") << " per run"
              << (s.flops_complete ? "" : " (lower bound: some shapes are unknown)") << "; symbolic dims counted as 1\n";
    if (o->ir) std::cout << "\n" << print_graph(*g);
    return kOk;
  };
}

}  // namespace nnc::cli
