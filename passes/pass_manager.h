// The pass manager: the passes of passes/passes.def, the default pipeline of each -O level,
// and a driver that runs a list of passes with timing, IR printing and checking.
#pragma once
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace nnc {

struct PassEntry {
  std::string name;  // the CLI name ("fold-batchnorm")
  PassFn fn;
  bool custom_ops;   // introduces nnc-domain ops
  std::string description;
};

const std::vector<PassEntry>& all_passes();
const PassEntry& find_pass(const std::string& name);  // throws a usage error listing the names
// -O0 nothing, -O1 clean-ups, -O2 every standard-ONNX rewrite, -O3 fusions into nnc ops too.
std::vector<PassEntry> default_pipeline(int level, bool standard_only);

struct PipelineOptions {
  PassOptions pass;
  bool verify_ir = false;        // run the IR verifier after every pass (always on in debug builds)
  bool verify_numerics = false;  // --verify: reference outputs before and after every pass
  uint64_t seed = 0;             // for --verify's random inputs
  std::map<std::string, int64_t> dim_values;  // sizes of symbolic dims for --verify (default 1)
  double tolerance = 1e-4;       // relative to each output's largest magnitude
  std::string print_after;       // a pass name, or "all": print the IR after it when it changed
  std::ostream* log = nullptr;   // where print_after writes
};

struct PassRun {
  std::string name;
  bool changed = false;
  double ms = 0;
};

// Runs the passes in order. With verify_numerics, stops at the first pass whose outputs
// differ from the original's and throws nnc::Error naming that pass.
std::vector<PassRun> run_pipeline(Graph& g, const std::vector<PassEntry>& passes, const PipelineOptions& opts);

}  // namespace nnc
