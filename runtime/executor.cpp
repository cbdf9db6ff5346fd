#include "runtime/executor.h"

#include <HalideRuntime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ir/error.h"
#include "codegen/cpu/kernel_cache.h"
#include "runtime/interpreter.h"

namespace nnc {

struct Executor::Arena {
  explicit Arena(int64_t bytes) : data(static_cast<uint8_t*>(std::aligned_alloc(64, round_up(bytes)))) {
    if (!data) throw Error("cannot allocate the " + std::to_string(bytes) + "-byte arena", ErrorKind::Runtime);
  }
  ~Arena() { std::free(data); }
  static size_t round_up(int64_t n) { return static_cast<size_t>((std::max<int64_t>(n, 64) + 63) / 64 * 64); }
  uint8_t* data;
};

namespace {

halide_type_t halide_type_of(DType t) {
  switch (t) {
    case DType::Float32: return {halide_type_float, 32, 1};
    case DType::Float64: return {halide_type_float, 64, 1};
    case DType::Float16: return {halide_type_float, 16, 1};
    case DType::BFloat16: return {halide_type_bfloat, 16, 1};
    case DType::Bool: return {halide_type_uint, 1, 1};
    case DType::Int8: return {halide_type_int, 8, 1};
    case DType::Int16: return {halide_type_int, 16, 1};
    case DType::Int32: return {halide_type_int, 32, 1};
    case DType::Int64: return {halide_type_int, 64, 1};
    case DType::UInt8: return {halide_type_uint, 8, 1};
    case DType::UInt16: return {halide_type_uint, 16, 1};
    case DType::UInt32: return {halide_type_uint, 32, 1};
    case DType::UInt64: return {halide_type_uint, 64, 1};
    default: return {halide_type_uint, 8, 1};
  }
}

// Per-run state: the values of Dynamic and Output slots, and each slot's memory.
struct RunState {
  std::vector<RuntimeValue> held;     // Dynamic and Output slots
  std::vector<uint8_t*> memory;       // static slots
  std::vector<halide_dimension_t> dims;
  std::vector<halide_buffer_t> buffers;
};

std::string describe_input(const Slot& s) { return "input '" + s.value->name + "'"; }

constexpr size_t kMaxRank = 8;  // of a view (Step::views are rank 3)

// Describes `memory` to Halide as a dense tensor of `shape` (dims: shape.size() of them).
void describe_buffer(halide_buffer_t& b, halide_dimension_t* dims, uint8_t* memory, DType t, const Shape& shape) {
  b = halide_buffer_t{};
  b.host = memory;
  b.type = halide_type_of(t);
  b.dimensions = static_cast<int32_t>(shape.size());
  b.dim = b.dimensions ? dims : nullptr;
  int64_t stride = 1;
  for (int d = 0; d < b.dimensions; ++d) {  // Halide's dim 0 is the innermost (last ONNX) axis
    int64_t extent = shape[shape.size() - 1 - d];
    b.dim[d] = halide_dimension_t{0, static_cast<int32_t>(extent), static_cast<int32_t>(stride), 0};
    stride *= extent;
  }
}

}  // namespace

// NNC_PROFILE=1: time every step; the totals and the mean per run are printed, slowest first,
// when the executor goes away (bench/compare_layers.py reads them). NNC_PROFILE_SKIP=N leaves
// the first N runs (warm-ups) out.
struct StepTimer {
  explicit StepTimer(std::atomic<int64_t>* total) : total(total), start(std::chrono::steady_clock::now()) {}
  ~StepTimer() {
    if (total) *total += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  }
  std::atomic<int64_t>* total;
  std::chrono::steady_clock::time_point start;
};

Executor::Executor(std::shared_ptr<const Program> program) : program_(std::move(program)) {
  if (const char* p = std::getenv("NNC_PROFILE"); p && *p && *p != '0')
    profile_ = std::make_unique<std::atomic<int64_t>[]>(program_->steps.size());
  if (const char* s = std::getenv("NNC_PROFILE_SKIP"); profile_ && s) profile_skip_ = std::max(0L, std::strtol(s, nullptr, 10));
}

Executor::~Executor() {
  if (!profile_) return;
  std::vector<std::pair<int64_t, size_t>> order;
  int64_t total = 0;
  for (size_t i = 0; i < program_->steps.size(); ++i) order.push_back({profile_[i].load(), i}), total += order.back().first;
  std::sort(order.rbegin(), order.rend());
  const int64_t runs = std::max<int64_t>(profiled_runs_.load(), 1);
  std::fprintf(stderr, "NNC_PROFILE: %.1f ms in all steps over %lld runs\n", total / 1e6, static_cast<long long>(runs));
  for (auto [ns, i] : order)
    std::fprintf(stderr, "%10.2f ms %5.1f%% %9.4f ms/run  %s%s\n", ns / 1e6, 100.0 * ns / std::max<int64_t>(total, 1),
                 ns / 1e6 / runs, program_->steps[i].kernel ? "" : "[reference] ", program_->steps[i].describe().c_str());
}

std::unique_ptr<Executor::Arena> Executor::take_arena() const {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      auto a = std::move(pool_.back());
      pool_.pop_back();
      return a;
    }
  }
  return std::make_unique<Arena>(program_->arena_bytes);
}

void Executor::give_back(std::unique_ptr<Arena> a) const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < 8) pool_.push_back(std::move(a));
}

RuntimeValues Executor::run(const std::vector<const RuntimeValue*>& inputs) const {
  const Program& p = *program_;
  const size_t n = p.slots.size();
  if (inputs.size() != p.inputs.size())
    throw Error("the model takes " + std::to_string(p.inputs.size()) + " inputs, given " + std::to_string(inputs.size()),
                ErrorKind::Runtime);
  std::unique_ptr<Arena> arena = take_arena();
  RunState st;
  const bool profiled = profile_ && runs_seen_++ >= profile_skip_;
  if (profiled) ++profiled_runs_;
  st.held.resize(n);
  st.memory.assign(n, nullptr);
  std::vector<const RuntimeValue*> input_of(n, nullptr);
  for (size_t i = 0; i < p.inputs.size(); ++i) {
    const Slot& s = p.slots[p.inputs[i]];
    if (!inputs[i]) throw Error("no data for graph " + describe_input(s), ErrorKind::Runtime);
    check_value_type(*s.value, *inputs[i], describe_input(s));
    input_of[p.inputs[i]] = inputs[i];
  }
  // Static slots: memory and a Halide buffer description each.
  size_t total_dims = 0;
  for (const Slot& s : p.slots) total_dims += s.shape.size();
  st.dims.resize(total_dims);
  st.buffers.assign(n, halide_buffer_t{});
  size_t next_dim = 0;
  for (size_t v = 0; v < n; ++v) {
    const Slot& s = p.slots[v];
    switch (s.kind) {
      case Slot::Input: {
        const RuntimeValue* in = input_of[v];
        if (in->tensor.shape() != s.shape)
          throw Error(describe_input(s) + " has shape " + shape_str(in->tensor.shape()) + ", the compiled model expects " +
                      shape_str(s.shape), ErrorKind::Runtime);
        st.memory[v] = static_cast<uint8_t*>(const_cast<void*>(in->tensor.raw()));
        break;
      }
      case Slot::Constant: st.memory[v] = static_cast<uint8_t*>(const_cast<void*>(s.constant->raw())); break;
      case Slot::Arena: st.memory[v] = arena->data + s.offset; break;
      case Slot::Output:
        st.held[v] = RuntimeValue(Tensor(s.dtype, s.shape));
        st.memory[v] = static_cast<uint8_t*>(st.held[v].tensor.raw());
        break;
      case Slot::Dynamic: continue;
    }
    describe_buffer(st.buffers[v], &st.dims[next_dim], st.memory[v], s.dtype, s.shape);
    next_dim += s.shape.size();
  }

  std::vector<void*> args;
  std::vector<halide_buffer_t> views;
  std::vector<halide_dimension_t> view_dims;
  for (const Step& step : p.steps) {
    StepTimer timer(profiled ? &profile_[&step - p.steps.data()] : nullptr);
    if (step.kernel) {
      args.clear();
      for (int v : step.inputs) args.push_back(&st.buffers[v]);
      for (int v : step.outputs) args.push_back(&st.buffers[v]);
      if (!step.views.empty()) {  // arguments the kernel sees in another shape
        views.resize(args.size());
        view_dims.resize(args.size() * kMaxRank);
        for (size_t i = 0; i < args.size(); ++i) {
          if (step.views[i].empty()) continue;
          int v = i < step.inputs.size() ? step.inputs[i] : step.outputs[i - step.inputs.size()];
          describe_buffer(views[i], &view_dims[i * kMaxRank], st.memory[v], p.slots[v].dtype, step.views[i]);
          args[i] = &views[i];
        }
      }
      if (int rc = step.kernel(args.data()); rc != 0)
        throw Error(step.describe() + ": compiled kernel failed: " + cpu::last_kernel_error() + " (Halide error " +
                    std::to_string(rc) + ")", ErrorKind::Runtime);
      continue;
    }
    // A reference kernel: static slots are copied into tensors and back.
    const Node& node = *step.nodes[0];
    RuntimeValues copies(step.inputs.size());
    std::vector<const RuntimeValue*> in;
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      int v = step.inputs[i];
      if (v < 0) { in.push_back(nullptr); continue; }
      const Slot& s = p.slots[v];
      if (input_of[v]) { in.push_back(input_of[v]); continue; }  // graph inputs, static or not
      if (s.kind == Slot::Dynamic || s.kind == Slot::Output) { in.push_back(&st.held[v]); continue; }
      if (s.kind == Slot::Constant) { copies[i] = RuntimeValue(*s.constant); in.push_back(&copies[i]); continue; }
      Tensor t(s.dtype, s.shape);
      std::memcpy(t.raw(), st.memory[v], t.nbytes());
      copies[i] = RuntimeValue(std::move(t));
      in.push_back(&copies[i]);
    }
    RuntimeValues out = run_node_reference(node, in, p.opset);
    for (size_t i = 0; i < step.outputs.size(); ++i) {
      int v = step.outputs[i];
      if (v < 0) continue;
      const Slot& s = p.slots[v];
      if (s.kind == Slot::Dynamic) { st.held[v] = std::move(out[i]); continue; }
      if (!out[i].is_plain_tensor() || out[i].tensor.dtype() != s.dtype || out[i].tensor.shape() != s.shape)
        throw Error(node.label() + ": output " + std::to_string(i) + " is " + out[i].type_str() + ", planned as " +
                    dtype_name(s.dtype) + shape_str(s.shape), ErrorKind::Runtime);
      if (s.kind == Slot::Output) st.held[v] = std::move(out[i]);
      else std::memcpy(st.memory[v], out[i].tensor.raw(), s.bytes());
    }
  }

  RuntimeValues results;
  std::vector<bool> moved(n, false);
  for (int v : p.outputs) {
    const Slot& s = p.slots[v];
    switch (s.kind) {
      case Slot::Input: results.push_back(*input_of[v]); break;
      case Slot::Constant: results.push_back(RuntimeValue(*s.constant)); break;
      case Slot::Dynamic:
        if (input_of[v]) { results.push_back(*input_of[v]); break; }
        [[fallthrough]];
      case Slot::Output:  // moved out, unless the graph returns it twice
        results.push_back(moved[v] ? results[std::find(p.outputs.begin(), p.outputs.end(), v) - p.outputs.begin()]
                                   : std::move(st.held[v]));
        moved[v] = true;
        break;
      case Slot::Arena: {
        Tensor t(s.dtype, s.shape);
        std::memcpy(t.raw(), st.memory[v], t.nbytes());
        results.push_back(RuntimeValue(std::move(t)));
        break;
      }
    }
  }
  give_back(std::move(arena));
  return results;
}

}  // namespace nnc
