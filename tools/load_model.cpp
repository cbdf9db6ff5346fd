// The model as `nnc run` and `nnc bench` execute it: imported, then optimised with the
// pipeline of the chosen -O level (as ONNX Runtime applies its graph optimisations on load).
#include "frontend/onnx.h"
#include "passes/pass_manager.h"
#include "tools/commands.h"

namespace nnc::cli {

std::shared_ptr<const Graph> load_model(const std::string& path, int level) {
  std::shared_ptr<Graph> g = import_onnx_file(path);
  if (level > 0) run_pipeline(*g, default_pipeline(level, false), PipelineOptions{});
  return g;
}

void add_level_option(CLI::App& sub, int& level) {
  sub.add_option("-O", level, "Optimise the graph first: 0 not at all, 1 clean-ups, 2 standard rewrites, 3 fusions (default)")
      ->check(CLI::Range(0, 3));
}

}  // namespace nnc::cli
