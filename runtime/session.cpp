#include "runtime/session.h"

#include "codegen/cpu/kernel_cache.h"
#include "frontend/shape_specialize.h"

namespace nnc {

namespace {
bool all_inputs_static(const Graph& g) {
  for (const Value* v : g.inputs) if (!v->is_plain_tensor() || !v->has_static_shape()) return false;
  return true;
}
}  // namespace

Session::Session(std::shared_ptr<const Graph> graph, SessionOptions opts) : graph_(std::move(graph)), opts_(std::move(opts)) {
  if (opts_.backend != "cpu" && opts_.backend != "reference")
    throw Error("unknown backend '" + opts_.backend + "' (cpu, reference)", ErrorKind::Runtime);
  if (opts_.backend != "cpu") return;
  cpu::KernelCache::instance().set_num_threads(opts_.threads);
  if (all_inputs_static(*graph_)) {
    std::map<std::string, Shape> shapes;
    for (const Value* v : graph_->inputs) shapes[v->name] = v->static_shape();
    executor_for(shapes);
  }
}

std::shared_ptr<const Executor> Session::executor_for(const std::map<std::string, Shape>& input_shapes) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = plans_.find(input_shapes); it != plans_.end()) return last_ = it->second;
  cpu::ShapeMap shapes = cpu::declared_shapes(*graph_);
  // Symbolic dims, or values whose shapes import could not infer (Shape -> Reshape chains):
  // infer again with the concrete input shapes, propagating shape values.
  bool complete = all_inputs_static(*graph_);
  for (const auto& n : graph_->nodes())
    for (const Value* v : n->outputs) complete = complete && (!v || !v->is_plain_tensor() || shapes.count(v));
  if (!complete) {
    try {
      shapes = infer_shapes_for_inputs(*graph_, input_shapes);
    } catch (const Error&) {
      if (!all_inputs_static(*graph_)) throw;  // declared shapes suffice otherwise
    }
  }
  cpu::CompileOptions co;
  co.progress = opts_.progress;
  auto program = cpu::compile_graph(*graph_, shapes, co, &report_);
  auto exec = std::make_shared<const Executor>(std::move(program));
  plans_[input_shapes] = exec;
  return last_ = exec;
}

RuntimeValues Session::run(const ValueMap& inputs) const {
  if (opts_.backend == "reference") return run_reference_values(*graph_, inputs);
  std::map<std::string, Shape> shapes;
  std::vector<const RuntimeValue*> ordered;
  for (const Value* v : graph_->inputs) {
    auto it = inputs.find(v->name);
    if (it == inputs.end()) throw Error("no data for graph input '" + v->name + "'", ErrorKind::Runtime);
    if (it->second.is_plain_tensor()) shapes[v->name] = it->second.tensor.shape();
    ordered.push_back(&it->second);
  }
  return executor_for(shapes)->run(ordered);
}

std::vector<Tensor> Session::run_tensors(const TensorMap& inputs) const {
  ValueMap values;
  for (const auto& [name, t] : inputs) values[name] = RuntimeValue(t);
  std::vector<Tensor> outs;
  for (RuntimeValue& r : run(values)) {
    if (!r.is_plain_tensor()) throw Error("the model returns a " + r.type_str() + ", not a tensor", ErrorKind::Runtime);
    outs.push_back(std::move(r.tensor));
  }
  return outs;
}

void Session::prepare(const std::map<std::string, Shape>& input_shapes) const {
  if (opts_.backend == "cpu") executor_for(input_shapes);
}

std::string describe_compilation(const Session& s) {
  auto program = s.program();
  if (!program) return "reference backend";
  cpu::CompileReport r = s.last_report();
  char buf[160];
  std::snprintf(buf, sizeof buf, "cpu backend: %zu kernels (%zu compiled, %zu cached) in %.2f s, arena %.1f MB", r.kernels,
                r.compiled_now, r.kernels - r.compiled_now, r.seconds, program->arena_bytes / 1e6);
  std::string out = buf;
  if (!r.fallbacks.empty()) {
    out += "; " + std::to_string(r.fallbacks.size()) + " node(s) on reference kernels:";
    for (const std::string& f : r.fallbacks) out += "\n  " + f;
  }
  return out;
}

cpu::CompileReport Session::last_report() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_;
}

std::shared_ptr<const Program> Session::program() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!last_) return nullptr;
  return std::shared_ptr<const Program>(last_, &last_->program());
}

}  // namespace nnc
