// The `nnc` subcommands. Each file adds one CLI11 subcommand and returns the function
// that runs it; main() maps nnc::Error to the documented exit codes:
//   0 success, 1 usage error, 2 invalid or unsupported model, 3 failure while running.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "ir/graph.h"

namespace nnc::cli {

enum ExitCode { kOk = 0, kUsage = 1, kBadModel = 2, kRunFailed = 3 };

using CommandFn = std::function<int()>;

CommandFn add_info_command(CLI::App& app);
CommandFn add_check_command(CLI::App& app);
CommandFn add_run_command(CLI::App& app);
CommandFn add_optimize_command(CLI::App& app);
CommandFn add_bench_command(CLI::App& app);
CommandFn add_new_command(CLI::App& app);
CommandFn add_train_command(CLI::App& app);

// Shared by the subcommands: the backends this build offers (the first is the default).
inline const std::vector<std::string> kBackends = {"cpu", "reference"};

// The model imported and optimised at -O `level` (nnc run and nnc bench), and that option.
std::shared_ptr<const Graph> load_model(const std::string& path, int level);
void add_level_option(CLI::App& sub, int& level);

}  // namespace nnc::cli
