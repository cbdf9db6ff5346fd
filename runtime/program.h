// A compiled model: the steps that compute a graph's values, and the slots that hold them.
// The CPU backend's compiler (codegen/cpu/compiler.h) builds it; the executor
// (runtime/executor.h) runs it over a memory plan (runtime/memory_plan.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace nnc {

using KernelFn = int (*)(void** args);  // Halide's argv convention: input buffers..., output buffers

// Where a value lives while the program runs.
struct Slot {
  enum Kind {
    Input,     // a graph input: the caller's tensor
    Constant,  // an initializer, or a tensor the compiler made (packed weights)
    Arena,     // an intermediate with a static size: an offset into the run's arena
    Output,    // a graph output with a static size: written straight into the result tensor
    Dynamic,   // a value whose shape or kind is only known at run time (held by value)
  };
  Kind kind = Arena;
  const Value* value = nullptr;  // null for compiler-made constants
  DType dtype = DType::Undefined;
  Shape shape;                    // static shape (not for Dynamic)
  std::shared_ptr<const Tensor> constant;  // Constant slots
  int64_t offset = 0;             // Arena slots, set by the memory plan
  size_t bytes() const;
};

struct Step {
  KernelFn kernel = nullptr;     // a compiled kernel; null: run `nodes[0]` on its reference kernel
  std::vector<const Node*> nodes;  // the nodes this step computes (a producer and its epilogue)
  std::vector<int> inputs;       // slots, in the kernel's argument order (or the node's inputs; -1 = omitted)
  std::vector<int> outputs;      // slots (or the node's outputs; -1 = omitted)
  // Per kernel argument (inputs, then outputs), the shape the kernel sees the slot as when
  // not its own (a 1x1 convolution reads [N, C, H, W] as [N, C, H*W]); empty when none do.
  std::vector<Shape> views;
  std::string describe() const;  // "Conv 'c1' + Relu 'r1'"
};

struct Program {
  std::vector<Slot> slots;
  std::vector<Step> steps;
  std::vector<int> inputs;   // one slot per graph input
  std::vector<int> outputs;  // one slot per graph output
  int64_t arena_bytes = 0;   // the memory plan's peak
  const Graph* graph = nullptr;
  int64_t opset = 17;

  size_t num_compiled_steps() const;
  // The nodes that run on reference kernels ("Op 'name'"), in order.
  std::vector<std::string> fallback_nodes() const;
};

}  // namespace nnc
