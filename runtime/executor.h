// Runs a Program: compiled kernels over a memory plan, reference kernels for the rest.
// run() may be called from many threads at once: the program is read-only, and every call
// takes its own arena (recycled through a small pool, so steady-state runs do not page-fault
// fresh memory).
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/program.h"
#include "runtime/runtime_value.h"

namespace nnc {

class Executor {
 public:
  explicit Executor(std::shared_ptr<const Program> program);
  ~Executor();

  // Inputs by graph-input position; outputs in graph-output order. Input types and static
  // dims are checked; errors name the node at fault.
  RuntimeValues run(const std::vector<const RuntimeValue*>& inputs) const;
  const Program& program() const { return *program_; }

 private:
  struct Arena;
  std::unique_ptr<Arena> take_arena() const;
  void give_back(std::unique_ptr<Arena> a) const;

  std::shared_ptr<const Program> program_;
  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<Arena>> pool_;
  std::unique_ptr<std::atomic<int64_t>[]> profile_;  // per step, when NNC_PROFILE is set
  int64_t profile_skip_ = 0;                       // NNC_PROFILE_SKIP: runs not timed
  mutable std::atomic<int64_t> runs_seen_{0}, profiled_runs_{0};
};

}  // namespace nnc
