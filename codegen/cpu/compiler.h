// The CPU backend's compiler: turns a graph (with every value's shape known) into a Program
// of compiled Halide kernels, one per group of nodes. A group is a producer followed by the
// chain of element-wise ops that consume it (bias, scale, residual add, activation, gate):
// the chain is computed in the producer's loop nest, so only the group's last result is
// written to memory. Nodes whose inputs are all constants are evaluated at compile time.
// Nodes that cannot be lowered run on their reference kernels.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "runtime/program.h"

namespace nnc::cpu {

using ShapeMap = std::unordered_map<const Value*, Shape>;

// The static shapes the graph declares (values with symbolic or unknown dims are left out).
ShapeMap declared_shapes(const Graph& g);

struct CompileOptions {
  bool use_kernels = true;  // false: every node runs on its reference kernel (for checking)
  // Called after each group with (groups done, groups in all), e.g. for a progress bar.
  std::function<void(size_t, size_t)> progress;
  // Values of graph inputs to compile in as constants (a specialisation: the program is only
  // valid for runs that feed these same values).
  std::unordered_map<const Value*, std::shared_ptr<const Tensor>> input_values;
};

struct CompileReport {
  size_t kernels = 0;         // compiled steps
  size_t compiled_now = 0;    // of which Halide compiled in this call (the rest came from the cache)
  size_t folded = 0;          // nodes evaluated at compile time (all their inputs were constants)
  double seconds = 0;
  // Nodes left to reference kernels, each with the reason ("Op 'name': why").
  std::vector<std::string> fallbacks;
  // Small graph inputs whose values, compiled in, would let more nodes run in kernels: they
  // feed a kernel's parameters (Resize scales, Slice starts, reduction axes) or decide a shape.
  std::vector<const Value*> value_inputs;
};

// Compiles g for the shapes given (every graph input must have one). The program refers to
// g's values and initializers, so g must outlive it.
std::shared_ptr<Program> compile_graph(const Graph& g, const ShapeMap& shapes, const CompileOptions& opts = {},
                                       CompileReport* report = nullptr);

}  // namespace nnc::cpu
