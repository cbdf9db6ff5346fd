// nnc: the command-line front door. One file per subcommand (tools/cmd_*.cpp).
#include <iostream>
#include <map>

#include "ir/error.h"
#include "tools/commands.h"

using namespace nnc::cli;

// Errors are printed on one line: messages passed through from ONNX's checker span several.
static std::string one_line(std::string s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') { space = !out.empty(); continue; }
    if (space) out += ' ';
    out += c;
    space = false;
  }
  return out;
}

int main(int argc, char** argv) {
  CLI::App app{"nnc: an ONNX graph compiler and runtime"};
  app.set_version_flag("--version", "nnc 0.1.0");
  app.require_subcommand(1);
  app.footer("Exit codes: 0 success, 1 usage error, 2 invalid or unsupported model, 3 failure while running.");
  std::map<CLI::App*, CommandFn> commands;
  auto add = [&](CommandFn (*adder)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    CommandFn fn = adder(app);
    commands[app.get_subcommands({})[before]] = std::move(fn);
  };
  add(add_info_command);
  add(add_check_command);
  add(add_optimize_command);
  add(add_run_command);
  add(add_bench_command);
  add(add_new_command);
  add(add_train_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kOk : kUsage;
  }
  for (auto& [sub, fn] : commands) {
    if (!sub->parsed()) continue;
    try {
      return fn();
    } catch (const nnc::Error& e) {
      std::cerr << "nnc " << sub->get_name() << ": error: " << one_line(e.what()) << "\n";
      return e.kind() == nnc::ErrorKind::InvalidModel ? kBadModel : kRunFailed;
    } catch (const std::bad_alloc&) {
      std::cerr << "nnc " << sub->get_name() << ": error: out of memory\n";
      return kRunFailed;
    } catch (const std::exception& e) {
      std::cerr << "nnc " << sub->get_name() << ": error: " << one_line(e.what()) << "\n";
      return kRunFailed;
    }
  }
  return kUsage;
}
