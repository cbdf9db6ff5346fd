// nnc optimize MODEL [-o OUT] [-O N] [--passes a,b] [--verify] [--standard-only] ...:
// runs the graph passes and writes the result as ONNX (fused ops as ONNX functions), with
// a table of op counts before and after, sizes and the time spent in each pass.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "frontend/onnx.h"
#include "passes/pass_manager.h"
#include "runtime/model_stats.h"
#include "runtime/tensor_io.h"
#include "tools/commands.h"

namespace nnc::cli {
namespace {

struct OptimizeOpts {
  std::string model, output;
  int level = 3;
  std::vector<std::string> passes;
  std::string print_after;
  bool verify = false, standard_only = false, time_passes = false, force = false;
  uint64_t seed = 0;
  std::vector<std::string> dims;
  int64_t fold_budget_mb = 64;
};

std::string default_output(const std::string& model) {
  std::filesystem::path p(model);
  return (p.parent_path() / (p.stem().string() + ".opt.onnx")).string();
}

std::string megabytes(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

void print_comparison(const ModelStats& before, const ModelStats& after, size_t nodes_before, size_t nodes_after) {
  std::set<std::string> ops;
  for (auto& [op, n] : before.op_histogram) ops.insert(op);
  for (auto& [op, n] : after.op_histogram) ops.insert(op);
  auto count = [](const ModelStats& s, const std::string& op) {
    auto it = s.op_histogram.find(op);
    return it == s.op_histogram.end() ? 0 : it->second;
  };
  std::printf("\n%-28s %10s %10s\n", "op", "before", "after");
  for (const std::string& op : ops) {
    int b = count(before, op), a = count(after, op);
    std::printf("%-28s %10d %10d%s\n", op.c_str(), b, a, a == b ? "" : (a < b ? "  -" : "  +"));
  }
  std::printf("%-28s %10zu %10zu\n", "nodes", nodes_before, nodes_after);
  std::printf("%-28s %10s %10s\n", "parameter bytes", megabytes(before.parameter_bytes).c_str(),
              megabytes(after.parameter_bytes).c_str());
}

}  // namespace

CommandFn add_optimize_command(CLI::App& app) {
  auto o = std::make_shared<OptimizeOpts>();
  CLI::App* sub = app.add_subcommand("optimize", "Optimize a model's graph and write it as ONNX");
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  sub->add_option("-o,--output", o->output, "Output file (default: MODEL's name with .opt.onnx)");
  sub->add_option("-O", o->level, "Level: 0 none, 1 clean-ups, 2 standard ONNX rewrites, 3 fusions (default)")
      ->check(CLI::Range(0, 3));
  std::vector<std::string> names;
  for (const PassEntry& p : all_passes()) names.push_back(p.name);
  sub->add_option("--passes", o->passes, "Run exactly these passes, in order (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember(names));
  sub->add_flag("--standard-only", o->standard_only, "Only rewrites that need no nnc-domain op");
  sub->add_flag("--verify", o->verify,
                "Run the reference interpreter before and after every pass; stop at the first that changes results");
  sub->add_option("--seed", o->seed, "Seed of --verify's random inputs");
  sub->add_option("--dim", o->dims, "Size of a symbolic dimension for --verify, NAME=SIZE (default 1)");
  names.push_back("all");
  sub->add_option("--print-after", o->print_after, "Print the IR after this pass (or 'all') when it changed it")
      ->check(CLI::IsMember(names));
  sub->add_flag("--time-passes", o->time_passes, "Print the time each pass took");
  sub->add_option("--fold-budget-mb", o->fold_budget_mb, "Largest constant that folding may create (MB)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--force", o->force, "Overwrite the output file if it exists");
  return [o]() {
    std::string out = o->output.empty() ? default_output(o->model) : o->output;
    if (!o->force && std::filesystem::exists(out))
      throw Error("'" + out + "' already exists (pass --force to overwrite it)", ErrorKind::Runtime);
    std::vector<PassEntry> passes;
    if (o->passes.empty()) passes = default_pipeline(o->level, o->standard_only);
    else for (const std::string& p : o->passes) passes.push_back(find_pass(p));
    PipelineOptions popts;
    popts.pass.standard_only = o->standard_only;
    popts.pass.fold_budget_bytes = o->fold_budget_mb << 20;
    popts.verify_numerics = o->verify;
    popts.seed = o->seed;
    popts.dim_values = parse_dim_values(o->dims);
    popts.print_after = o->print_after;
    popts.log = &std::cout;

    auto g = import_onnx_file(o->model);
    ModelStats before = compute_stats(*g);
    size_t nodes_before = g->nodes().size();
    std::vector<PassRun> runs = run_pipeline(*g, passes, popts);
    export_onnx_file(*g, out, o->force);

    std::printf("nnc optimize: %s -> %s\n", o->model.c_str(), out.c_str());
    if (o->time_passes || o->verify) {
      std::printf("\n%-24s %8s %12s\n", "pass", "changed", "time");
      double total = 0;
      for (const PassRun& r : runs) {
        std::printf("%-24s %8s %9.2f ms\n", r.name.c_str(), r.changed ? "yes" : "no", r.ms);
        total += r.ms;
      }
      std::printf("%-24s %8s %9.2f ms\n", "total", "", total);
    } else {
      std::string applied;
      char ms[32];
      for (const PassRun& r : runs) {
        if (!r.changed) continue;
        std::snprintf(ms, sizeof ms, " (%.1f ms)", r.ms);
        applied += (applied.empty() ? "" : ", ") + r.name + ms;
      }
      std::printf("passes that changed the graph: %s\n", applied.empty() ? "none" : applied.c_str());
    }
    print_comparison(before, compute_stats(*g), nodes_before, g->nodes().size());
    if (o->verify) std::printf("\n--verify: every pass kept the outputs within tolerance\n");
    return kOk;
  };
}

}  // namespace nnc::cli
