#include "passes/pass_manager.h"

#include <chrono>

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/batchnorm_folding.h"
#include "passes/common_subexpressions.h"
#include "passes/constant_folding.h"
#include "passes/dead_code.h"
#include "passes/epilogue_fusion.h"
#include "passes/activation_recognition.h"
#include "passes/gate_fusion.h"
#include "passes/layernorm_recomposition.h"
#include "passes/noop_removal.h"
#include "passes/verify_equivalence.h"

namespace nnc {

const std::vector<PassEntry>& all_passes() {
  static const std::vector<PassEntry> passes = {
#define NNC_PASS(FN, NAME, CUSTOM, DESC) {NAME, &FN, CUSTOM != 0, DESC},
#include "passes/passes.def"
  };
  return passes;
}

const PassEntry& find_pass(const std::string& name) {
  std::string known;
  for (const PassEntry& p : all_passes()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw Error("unknown pass '" + name + "' (known: " + known + ")", ErrorKind::Runtime);
}

std::vector<PassEntry> default_pipeline(int level, bool standard_only) {
  std::vector<std::string> names;
  auto add = [&](const char* name, int min_level) { if (level >= min_level) names.push_back(name); };
  add("remove-noops", 1);           // so the patterns below see the real producers
  add("fold-constants", 1);         // shape subgraphs of static shapes become constants
  add("cse", 2);                    // exporters often repeat Shape/Gather chains and constants
  add("fold-batchnorm", 2);         // emits the folded weights as ops ...
  add("fold-constants", 2);         // ... which are evaluated here
  add("recompose-layernorm", 2);    // before the activation patterns, which could eat its Pow/Sqrt
  add("recognize-activations", 3);  // GELU and SiLU formulas become single ops ...
  add("fuse-gates", 3);             // ... so that a · act(b) can become one gate
  add("fuse-epilogues", 3);         // residual Add and activations move into their producer
  add("dce", 1);                    // whatever the rewrites left unused
  std::vector<PassEntry> out;
  for (const std::string& n : names) {
    const PassEntry& p = find_pass(n);
    if (!(standard_only && p.custom_ops)) out.push_back(p);
  }
  return out;
}

std::vector<PassRun> run_pipeline(Graph& g, const std::vector<PassEntry>& passes, const PipelineOptions& opts) {
#ifndef NDEBUG
  const bool verify_ir = true;
#else
  const bool verify_ir = opts.verify_ir || opts.verify_numerics;
#endif
  std::unique_ptr<ReferenceOutputs> oracle;
  if (opts.verify_numerics) oracle = std::make_unique<ReferenceOutputs>(g, opts.seed, opts.dim_values);
  std::vector<PassRun> runs;
  for (const PassEntry& p : passes) {
    if (p.custom_ops && opts.pass.standard_only) continue;
    auto start = std::chrono::steady_clock::now();
    PassRun run{p.name};
    run.changed = p.fn(g, opts.pass);
    g.collect_garbage();
    g.sort_topologically();
    run.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    runs.push_back(run);
    if (!run.changed) continue;
    if (verify_ir) {
      try {
        verify_graph(g);
      } catch (const Error& e) {
        throw Error("pass '" + p.name + "' left an invalid graph: " + e.what(), ErrorKind::Runtime);
      }
    }
    if (oracle) {
      std::string diff = oracle->compare(g, opts.tolerance);
      if (!diff.empty()) throw Error("--verify: pass '" + p.name + "' changed the results: " + diff, ErrorKind::Runtime);
    }
    if (opts.log && (opts.print_after == p.name || opts.print_after == "all"))
      *opts.log << "; IR after " << p.name << "\n" << print_graph(g);
  }
  return runs;
}

}  // namespace nnc
