#include "runtime/session.h"

#include <algorithm>

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
    prepare(shapes);
  }
}

std::shared_ptr<const Executor> Session::compile(const std::map<std::string, Shape>& input_shapes,
                                                 const InputValues& values) const {
  cpu::ShapeMap shapes = cpu::declared_shapes(*graph_);
  // Symbolic dims, values whose shapes import could not infer (Shape -> Reshape chains), or
  // shapes that follow from the inputs' values: infer again for these inputs.
  bool complete = all_inputs_static(*graph_) && values.empty();
  for (const auto& n : graph_->nodes())
    for (const Value* v : n->outputs) complete = complete && (!v || !v->is_plain_tensor() || shapes.count(v));
  if (!complete) {
    try {
      // Declared static shapes stay: inference may not reach a value the model declares.
      for (auto& [v, s] : infer_shapes_for_inputs(*graph_, input_shapes, values)) shapes.emplace(v, s);
    } catch (const Error&) {
      if (!all_inputs_static(*graph_)) throw;  // declared shapes suffice otherwise
    }
  }
  cpu::CompileOptions co;
  co.progress = opts_.progress;
  for (const Value* v : graph_->inputs) {
    if (auto it = input_shapes.find(v->name); it != input_shapes.end()) shapes[v] = it->second;
    if (auto it = values.find(v->name); it != values.end()) co.input_values[v] = it->second;
  }
  auto program = cpu::compile_graph(*graph_, shapes, co, &report_);
  return last_ = std::make_shared<const Executor>(std::move(program));
}

Session::Plans& Session::plans_for(const std::map<std::string, Shape>& input_shapes) const {
  auto [it, added] = plans_.try_emplace(input_shapes);
  Plans& plans = it->second;
  if (added) {
    plans.general = compile(input_shapes, {});
    for (const Value* v : report_.value_inputs)
      plans.value_inputs.push_back(std::find(graph_->inputs.begin(), graph_->inputs.end(), v) - graph_->inputs.begin());
  }
  return plans;
}

std::shared_ptr<const Executor> Session::executor_for(const std::map<std::string, Shape>& input_shapes,
                                                      const std::vector<const RuntimeValue*>& inputs) const {
  std::lock_guard<std::mutex> lock(mu_);
  Plans& plans = plans_for(input_shapes);
  if (plans.value_inputs.empty()) return last_ = plans.general;
  std::string key;
  for (size_t i : plans.value_inputs) {
    const Tensor& t = inputs[i]->tensor;
    if (!inputs[i]->is_plain_tensor() || t.dtype() != graph_->inputs[i]->dtype) return last_ = plans.general;  // it reports
    key.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  if (auto it = plans.by_values.find(key); it != plans.by_values.end()) return last_ = it->second;
  if (plans.by_values.size() >= kMaxSpecialisations) return last_ = plans.general;
  InputValues values;
  for (size_t i : plans.value_inputs) values[graph_->inputs[i]->name] = std::make_shared<const Tensor>(inputs[i]->tensor);
  return plans.by_values[key] = compile(input_shapes, values);
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
  return executor_for(shapes, ordered)->run(ordered);
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
  if (opts_.backend != "cpu") return;
  std::lock_guard<std::mutex> lock(mu_);
  last_ = plans_for(input_shapes).general;
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
