// Runs the official ONNX backend node tests (model.onnx + test_data_set_*/{input,output}_*.pb)
// on the reference interpreter, or on the CPU backend, with ONNX's tolerances (rtol 1e-3,
// atol 1e-7).
//
//   onnx_node_tests DIR... [--backend reference|cpu] [--exclude FILE] [--min-pass-rate R]
//                   [--min-compiled-rate R] [--only NAME] [--verbose]
//
// With --backend cpu, a test counts as compiled when every node of its model runs in a
// compiled kernel (none falls back to its reference kernel); --min-compiled-rate bounds
// the share of compiled tests.
//
// Several DIRs are counted together (the pytorch-converted, pytorch-operator and simple folders).
//
// Every test not in the exclude list must pass; an excluded test counts as failed in the
// summary, and each exclusion carries its reason in the file ("name  # reason").
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "frontend/onnx.h"
#include "frontend/onnx_types.h"
#include "runtime/interpreter.h"
#include "runtime/session.h"

namespace fs = std::filesystem;
using namespace nnc;

namespace {

std::map<std::string, std::string> read_excludes(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto hash = line.find('#');
    std::string name = line.substr(0, hash);
    name.erase(std::remove_if(name.begin(), name.end(), ::isspace), name.end());
    if (name.empty()) continue;
    std::string reason = hash == std::string::npos ? "" : line.substr(hash + 1);
    if (reason.find_first_not_of(" \t") == std::string::npos) {
      std::cerr << "exclude list: '" << name << "' has no reason\n";
      std::exit(2);
    }
    out[name] = reason;
  }
  return out;
}

// Empty string when equal within tolerance, otherwise a description of the first mismatch.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype())
    return std::string("dtype ") + dtype_name(got.dtype()) + ", expected " + dtype_name(want.dtype());
  if (got.shape() != want.shape()) return "shape " + shape_str(got.shape()) + ", expected " + shape_str(want.shape());
  if (want.dtype() == DType::String) return got.strings() == want.strings() ? "" : "strings differ";
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.at_double(i), w = want.at_double(i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    if (!(std::fabs(g - w) <= 1e-7 + 1e-3 * std::fabs(w)))
      return "element " + std::to_string(i) + " is " + std::to_string(g) + ", expected " + std::to_string(w);
  }
  return "";
}

// The same for sequences and optionals, element by element.
std::string compare(const RuntimeValue& got, const RuntimeValue& want) {
  if (got.kind != want.kind || got.optional != want.optional || got.present != want.present)
    return "got a " + got.type_str() + ", expected a " + want.type_str();
  if (!want.present) return "";
  if (want.kind == TypeKind::Tensor) return compare(got.tensor, want.tensor);
  if (got.sequence.size() != want.sequence.size()) return "got a " + got.type_str() + ", expected a " + want.type_str();
  for (size_t i = 0; i < want.sequence.size(); ++i)
    if (std::string d = compare(got.sequence[i], want.sequence[i]); !d.empty()) return "element " + std::to_string(i) + ": " + d;
  return "";
}

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) files.push_back(e.path());
  // input_10.pb sorts after input_9.pb
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    auto num = [](const fs::path& p) { std::string s = p.stem().string(); return std::stoi(s.substr(s.rfind('_') + 1)); };
    return num(a) < num(b);
  });
  return files;
}

struct TestRun {
  std::string backend = "reference";
  bool compiled = false;  // cpu: no node fell back
  std::vector<std::string> fallbacks;  // cpu: why nodes fell back
};

// Returns "" on success, else the reason for failure.
std::string run_test(const fs::path& dir, TestRun& run) {
  try {
    std::shared_ptr<const Graph> g = import_onnx_file((dir / "model.onnx").string());
    SessionOptions so;
    so.backend = run.backend;
    Session session(g, so);
    int sets = 0;
    for (auto& set : fs::directory_iterator(dir)) {
      if (!set.is_directory() || set.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
      ++sets;
      auto inputs = sorted_files(set.path(), "input_");
      auto outputs = sorted_files(set.path(), "output_");
      if (inputs.size() > g->inputs.size()) return "more input files than graph inputs";
      ValueMap feeds;
      for (size_t i = 0; i < inputs.size(); ++i) feeds[g->inputs[i]->name] = read_value_pb(inputs[i].string(), *g->inputs[i]);
      auto got = session.run(feeds);
      if (auto program = session.program()) {
        run.compiled = program->fallback_nodes().empty();
        run.fallbacks = session.last_report().fallbacks;
      }
      if (got.size() != outputs.size()) return "produced " + std::to_string(got.size()) + " outputs, expected " + std::to_string(outputs.size());
      for (size_t i = 0; i < outputs.size(); ++i) {
        std::string diff = compare(got[i], read_value_pb(outputs[i].string(), *g->outputs[i]));
        if (!diff.empty()) return "output " + std::to_string(i) + ": " + diff;
      }
    }
    return sets ? "" : "no test data sets";
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> roots;
  std::map<std::string, std::string> excludes;
  double min_rate = 0, min_compiled = 0;
  std::string only, backend = "reference";
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--exclude" && i + 1 < argc) excludes = read_excludes(argv[++i]);
    else if (a == "--min-pass-rate" && i + 1 < argc) min_rate = std::stod(argv[++i]);
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--backend" && i + 1 < argc) backend = argv[++i];
    else if (a == "--min-compiled-rate" && i + 1 < argc) min_compiled = std::stod(argv[++i]);
    else if (a == "--verbose") verbose = true;
    else roots.push_back(a);
  }
  if (roots.empty()) {
    std::cerr << "usage: onnx_node_tests DIR... [--backend reference|cpu] [--exclude FILE] [--min-pass-rate R]"
                 " [--min-compiled-rate R] [--only NAME] [--verbose]\n";
    return 1;
  }
  std::vector<fs::path> tests;
  for (const fs::path& root : roots) {
    if (!fs::is_directory(root)) {
      std::cerr << "no test data at " << root << " (install Debian's libonnx-testdata)\n";
      return 1;
    }
    std::vector<fs::path> here;
    for (auto& e : fs::directory_iterator(root)) if (e.is_directory()) here.push_back(e.path());
    std::sort(here.begin(), here.end());
    tests.insert(tests.end(), here.begin(), here.end());
  }
  int passed = 0, failed = 0, excluded = 0, unexpected = 0, fixed = 0, compiled = 0;
  for (const auto& t : tests) {
    std::string name = t.filename().string();
    if (!only.empty() && name != only) continue;
    bool is_excluded = excludes.count(name) != 0;
    TestRun run{backend};
    std::string why = run_test(t, run);
    compiled += run.compiled;
    if (verbose && backend == "cpu" && !run.compiled)
      for (const std::string& f : run.fallbacks) std::cout << "not fully compiled: " << name << ": " << f << "\n";
    if (is_excluded) {
      ++excluded;
      if (why.empty()) { ++fixed; std::cout << "NOW PASSES (remove from the exclude list): " << name << "\n"; }
      else if (verbose) std::cout << "excluded " << name << ": " << why << "\n";
    } else if (why.empty()) {
      ++passed;
    } else {
      ++failed;
      ++unexpected;
      std::cout << "FAIL " << name << ": " << why << "\n";
    }
  }
  int total = passed + failed + excluded;
  double rate = total ? static_cast<double>(passed) / total : 0;
  std::cout << "ONNX backend tests on the " << backend << " backend: " << passed << " of " << total << " pass ("
            << std::round(rate * 1000) / 10.0 << "%); " << excluded << " excluded with a reason, counted as failed\n";
  std::cout << passed << " passed, " << (failed + excluded) << " failed\n";
  if (unexpected) std::cout << unexpected << " test(s) failed that are not in the exclude list\n";
  if (rate < min_rate) std::cout << "pass rate is below the required " << min_rate * 100 << "%\n";
  double compiled_rate = total ? static_cast<double>(compiled) / total : 0;
  if (backend == "cpu")
    std::cout << compiled << " of " << total << " tests (" << std::round(compiled_rate * 1000) / 10.0
              << "%) ran entirely in compiled kernels\n";
  if (compiled_rate < min_compiled) std::cout << "compiled share is below the required " << min_compiled * 100 << "%\n";
  return (unexpected || rate < min_rate || compiled_rate < min_compiled) ? 1 : 0;
}
