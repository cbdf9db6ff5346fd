// A Session: a model compiled for the CPU backend, ready to run.
//
// run() may be called from several threads at once. Models with symbolic dims (a batch
// size "N") are compiled per set of input shapes, on first use, and the plans are cached.
// Where a small input decides a kernel's parameters or a shape (Resize's scales, Slice's
// starts, Range's limit), the model is also compiled per value of those inputs (up to
// kMaxSpecialisations of them per set of shapes; further values run the general plan).
// The reference backend runs the plain interpreter instead (for checking).
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "codegen/cpu/compiler.h"
#include "runtime/executor.h"
#include "runtime/interpreter.h"

namespace nnc {

struct SessionOptions {
  std::string backend = "cpu";  // "cpu" or "reference"
  int threads = 0;              // the CPU backend's thread count (0 = one per core); process-wide
  std::function<void(size_t, size_t)> progress;  // compile progress (groups done, in all)
};

class Session {
 public:
  // Compiles at once when every input shape is static; otherwise on the first run().
  Session(std::shared_ptr<const Graph> graph, SessionOptions opts = {});

  RuntimeValues run(const ValueMap& inputs) const;
  // Compiles for these input shapes now (run() would on first use); a no-op for the reference backend.
  void prepare(const std::map<std::string, Shape>& input_shapes) const;
  std::vector<Tensor> run_tensors(const TensorMap& inputs) const;

  const Graph& graph() const { return *graph_; }
  // The most recent compilation's report, and the program for the given input shapes
  // (nullptr for the reference backend or before the first compilation).
  cpu::CompileReport last_report() const;
  std::shared_ptr<const Program> program() const;

 private:
  static constexpr size_t kMaxSpecialisations = 16;
  using InputValues = std::map<std::string, std::shared_ptr<const Tensor>>;
  // The programs for one set of input shapes.
  struct Plans {
    std::shared_ptr<const Executor> general;
    std::vector<size_t> value_inputs;  // graph inputs worth specialising on (indices)
    std::map<std::string, std::shared_ptr<const Executor>> by_values;  // keyed by those inputs' bytes
  };
  Plans& plans_for(const std::map<std::string, Shape>& input_shapes) const;  // mu_ held
  // Compiles for these shapes (and input values, compiled in); report_ describes it. mu_ held.
  std::shared_ptr<const Executor> compile(const std::map<std::string, Shape>& input_shapes,
                                          const InputValues& values) const;
  std::shared_ptr<const Executor> executor_for(const std::map<std::string, Shape>& input_shapes,
                                               const std::vector<const RuntimeValue*>& inputs) const;

  std::shared_ptr<const Graph> graph_;
  SessionOptions opts_;
  mutable std::mutex mu_;
  mutable std::map<std::map<std::string, Shape>, Plans> plans_;
  mutable std::shared_ptr<const Executor> last_;
  mutable cpu::CompileReport report_;
};

// One line for people: "cpu backend: 53 kernels (12 compiled, 41 cached) in 3.2 s, arena 12.3 MB; 2 nodes on
// reference kernels: ...".
std::string describe_compilation(const Session& s);

}  // namespace nnc
