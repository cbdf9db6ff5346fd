#include "codegen/cpu/compiler.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "codegen/cpu/kernel_cache.h"
#include "codegen/cpu/lowering.h"
#include "ir/checked.h"
#include "passes/pattern.h"
#include "runtime/interpreter.h"
#include "runtime/memory_plan.h"

namespace nnc::cpu {

ShapeMap declared_shapes(const Graph& g) {
  ShapeMap m;
  for (const auto& v : g.values())
    if (v->is_plain_tensor() && v->has_static_shape()) m[v.get()] = v->static_shape();
  return m;
}

namespace {

bool lowerable_type(DType t) {
  try {
    halide_type(t);
    return true;
  } catch (const NotLowerable&) {
    return false;
  }
}

// A node's result may be computed inside its producer's loop nest.
bool is_epilogue_op(const Node& n) {
  OpCategory c = op_info(n.op).category;
  return (c == OpCategory::Elementwise || c == OpCategory::Activation || n.op == OpKind::FusedAdd) &&
         find_lowering(n.op) != nullptr && n.outputs.size() == 1;
}

// The buffers a group's kernel reads: a Halide ImageParam per external value, in order.
struct GroupInputs {
  std::vector<const Value*> values;
  std::vector<Halide::ImageParam> params;
  std::map<const Value*, TensorFunc> funcs;
};

// Constrains a buffer to a dense row-major layout of this shape, so Halide knows the
// strides and extents at compile time.
template <class Buffer>
void constrain_dense(Buffer b, const Shape& shape) {
  int64_t stride = 1;
  int rank = static_cast<int>(shape.size());
  for (int d = 0; d < rank; ++d) {
    int64_t extent = shape[rank - 1 - d];
    b.dim(d).set_bounds(0, static_cast<int>(extent)).set_stride(static_cast<int>(stride));
    stride *= extent;
  }
}

// A tensor that broadcasts against an image [N, C, H, W], as it broadcasts against the image
// with H and W flattened ([N, C, H*W]); nullopt when it cannot (it varies along H or W alone).
std::optional<Shape> flattened(const Shape& s, int64_t H, int64_t W) {
  if (s.size() > 4) return std::nullopt;
  Shape p(4 - s.size(), 1);
  p.insert(p.end(), s.begin(), s.end());
  if (p[2] == H && p[3] == W) return Shape{p[0], p[1], H * W};
  if (p[2] == 1 && p[3] == 1) return Shape{p[0], p[1], 1};
  return std::nullopt;
}

class GroupBuilder {
 public:
  GroupBuilder(const Graph& g, const ShapeMap& shapes, const std::vector<Slot>& slots,
               const std::unordered_map<const Value*, int>& slot_of)
      : g_(g), shapes_(shapes), slots_(slots), slot_of_(slot_of) {}

  // Lowers n with its inputs bound to in-group funcs or new params; throws NotLowerable.
  std::vector<TensorFunc> lower(const Node& n, LowerContext** ctx_out) {
    Lowering lowering = find_lowering(n.op);
    if (!lowering) throw NotLowerable("no compiled kernel for " + n.op_type);
    if (n.num_captured || !n.subgraphs().empty()) throw NotLowerable("has subgraphs");
    std::vector<std::optional<TensorFunc>> ins;
    std::vector<const Tensor*> consts;
    std::string key = n.op_type + "|" + n.domain + "|" + std::to_string(g_.opset) + "|";
    for (const auto& [name, v] : n.attrs.all()) key += name + "=" + attr_to_string(v) + ";";
    for (const Value* v : n.inputs) {
      if (!v) { ins.emplace_back(); consts.push_back(nullptr); key += "_,"; continue; }
      ins.push_back(input_func(v));
      const Slot& s = slots_[slot_of_.at(v)];  // initializers and values folded at compile time
      consts.push_back(s.kind == Slot::Constant ? s.constant.get() : nullptr);
      key += describe(v) + ",";
    }
    std::vector<Shape> out_shapes;
    std::vector<DType> out_types;
    for (const Value* v : n.outputs) {
      if (!v) {  // the lowering skips it (LowerContext::omitted)
        out_shapes.emplace_back();
        out_types.push_back(DType::Undefined);
        key += "->_";
        continue;
      }
      auto it = shapes_.find(v);
      if (it == shapes_.end() || !v->is_plain_tensor()) throw NotLowerable("output '" + v->name + "' has no static shape");
      if (!lowerable_type(v->dtype)) throw NotLowerable(std::string("output type ") + dtype_name(v->dtype));
      out_shapes.push_back(shape_of(v));
      out_types.push_back(v->dtype);
      key += "->" + std::string(dtype_name(v->dtype)) + shape_str(out_shapes.back());
    }
    contexts_.push_back(std::make_unique<LowerContext>(n, std::move(ins), std::move(consts), out_shapes, out_types));
    LowerContext& ctx = *contexts_.back();
    ctx.opset = g_.opset;
    std::vector<TensorFunc> outs = lowering(ctx);
    if (outs.size() != n.outputs.size()) throw NotLowerable("lowering gave the wrong number of outputs");
    for (size_t i = 0; i < outs.size(); ++i) {
      if (!n.outputs[i]) continue;
      if (outs[i].shape != out_shapes[i] || outs[i].dtype != out_types[i])
        throw NotLowerable("lowering gave " + std::string(dtype_name(outs[i].dtype)) + shape_str(outs[i].shape) +
                           " for output " + std::to_string(i) + ", inferred " + dtype_name(out_types[i]) +
                           shape_str(out_shapes[i]));
      funcs_[n.outputs[i]] = outs[i];
      func_order_.push_back(n.outputs[i]);
    }
    key_ += key + "|" + ctx.baked + "\n";
    if (ctx_out) *ctx_out = &ctx;
    return outs;
  }

  // What lower() adds, so a failed lowering can be undone.
  struct Mark { size_t inputs, contexts, key, funcs; };
  Mark mark() const { return {inputs_.values.size(), contexts_.size(), key_.size(), func_order_.size()}; }
  void rollback(const Mark& m) {
    for (size_t i = m.inputs; i < inputs_.values.size(); ++i) inputs_.funcs.erase(inputs_.values[i]);
    inputs_.values.resize(m.inputs);
    inputs_.params.resize(m.inputs);
    contexts_.resize(m.contexts);
    key_.resize(m.key);
    for (size_t i = m.funcs; i < func_order_.size(); ++i) funcs_.erase(func_order_[i]);
    func_order_.resize(m.funcs);
  }

  // When head is a convolution that works on flattened images (conv_reads_flat), has the
  // kernel see its result, residual input and unstrided image so; likewise a global pooling's
  // image and result (global_pool_reads_flat), and an element-wise op's operands and result
  // when it makes images (so its vectors run along whole planes: 7x7 ones were scalar).
  // Returns the H and W flattened.
  std::optional<std::pair<int64_t, int64_t>> flatten_head(const Node& head) {
    if (head.inputs.empty() || !head.inputs[0] || head.outputs.size() != 1) return std::nullopt;
    const Shape &x = slots_[slot_of_.at(head.inputs[0])].shape, &y = slots_[slot_of_.at(head.outputs[0])].shape;
    std::optional<std::pair<int64_t, int64_t>> hw;
    if (global_pool_reads_flat(head, x, head.inputs[0]->dtype)) hw = {x[2], x[3]};
    else if (is_epilogue_op(head) && y.size() == 4) hw = {y[2], y[3]};
    if (hw) {
      auto flat = [&](const Value* v) { return flatten(v, *hw); };
      if (flat(head.outputs[0]) && std::all_of(head.inputs.begin(), head.inputs.end(), flat)) return hw;
      views_.clear();
      return std::nullopt;
    }
    if (head.inputs.size() < 2 || !head.inputs[1]) return std::nullopt;
    const Shape& w = slots_[slot_of_.at(head.inputs[1])].shape;
    if (!conv_reads_flat(head, x, w, y, head.inputs[0]->dtype)) return std::nullopt;
    hw = {y[2], y[3]};
    bool strided = x[2] != y[2] || x[3] != y[3];  // then it reads its image as it is
    bool ok = flatten(head.outputs[0], *hw) && (strided || flatten(head.inputs[0], *hw));
    for (size_t i = 3; i < head.inputs.size(); ++i) ok = ok && flatten(head.inputs[i], *hw);  // past the bias
    if (ok) return hw;
    views_.clear();
    return std::nullopt;
  }
  // Has the kernel see an epilogue node's tensors flattened like the convolution's; false
  // when one cannot be, and the node must not join the group.
  bool flatten_epilogue(const Node& n, std::pair<int64_t, int64_t> hw) {
    bool ok = true;
    for (const Value* v : n.inputs) ok = ok && flatten(v, hw);
    for (const Value* v : n.outputs) ok = ok && flatten(v, hw);
    return ok;
  }
  // The shape the kernel sees argument v as, when it is a view (else empty).
  Shape view_of(const Value* v) const {
    auto it = views_.find(v);
    return it == views_.end() ? Shape{} : it->second;
  }

  const std::string& key() const { return key_; }
  const GroupInputs& inputs() const { return inputs_; }
  std::vector<std::unique_ptr<LowerContext>>& contexts() { return contexts_; }

 private:
  // Has the kernel see v (null: omitted) with H and W flattened into one axis; false when it
  // cannot be (see flattened()) or is already bound unflattened.
  bool flatten(const Value* v, std::pair<int64_t, int64_t> hw) {
    auto [H, W] = hw;
    if (!v) return true;
    const Shape& own = slots_[slot_of_.at(v)].shape;
    if (own.empty() || (own.size() == 1 && own[0] == 1)) return true;  // a scalar broadcasts as it is
    std::optional<Shape> f = flattened(own, H, W);
    if (!f || ((funcs_.count(v) || inputs_.funcs.count(v)) && shape_of(v) != *f)) return false;
    views_[v] = *f;
    return true;
  }

  Shape shape_of(const Value* v) const {
    auto it = views_.find(v);
    return it != views_.end() ? it->second : slots_[slot_of_.at(v)].shape;
  }

  std::string describe(const Value* v) {
    if (auto it = std::find(func_order_.begin(), func_order_.end(), v); it != func_order_.end())
      return "g" + std::to_string(it - func_order_.begin());
    for (size_t i = 0; i < inputs_.values.size(); ++i)
      if (inputs_.values[i] == v) {
        const Slot& s = slots_[slot_of_.at(v)];
        return "p" + std::to_string(i) + ":" + dtype_name(s.dtype) + shape_str(shape_of(v));
      }
    throw NotLowerable("input '" + v->name + "' is not bound");
  }

  TensorFunc input_func(const Value* v) {
    if (auto it = funcs_.find(v); it != funcs_.end()) return it->second;
    if (auto it = inputs_.funcs.find(v); it != inputs_.funcs.end()) return it->second;
    const Slot& s = slots_[slot_of_.at(v)];
    if (s.kind == Slot::Dynamic) throw NotLowerable("input '" + v->name + "' has no static shape");
    Shape shape = shape_of(v);
    Halide::ImageParam p(halide_type(s.dtype), static_cast<int>(shape.size()), "in" + std::to_string(inputs_.values.size()));
    constrain_dense(p, shape);
    std::vector<Var> vars = onnx_vars(static_cast<int>(shape.size()), "i");
    std::vector<Var> hvars(vars.rbegin(), vars.rend());
    TensorFunc f{Func(p.name() + "_f"), shape, s.dtype, p.parameter()};
    if (hvars.empty()) f.f() = p();
    else f.f(hvars) = p(hvars);
    inputs_.values.push_back(v);
    inputs_.params.push_back(p);
    inputs_.funcs[v] = f;
    return f;
  }

  const Graph& g_;
  const ShapeMap& shapes_;
  const std::vector<Slot>& slots_;
  const std::unordered_map<const Value*, int>& slot_of_;
  GroupInputs inputs_;
  std::map<const Value*, TensorFunc> funcs_;
  std::vector<const Value*> func_order_;  // funcs_ in the order they were made (for the key)
  std::vector<std::unique_ptr<LowerContext>> contexts_;
  std::map<const Value*, Shape> views_;
  std::string key_;
};

// Nodes whose inputs are all constants are evaluated once, at compile time, on their
// reference kernels (Constant nodes, shape arithmetic); their outputs become constants.
// Random ops stay, and so do results too big to keep (Expand of a scalar to a large shape).
using Folded = std::unordered_map<const Value*, std::shared_ptr<const Tensor>>;
Folded fold_constants(const Graph& g, const std::vector<Node*>& order, const ShapeMap& shapes, Folded folded) {
  constexpr int64_t kMaxFoldedBytes = 1 << 20;
  for (const Node* n : order) {
    if (is_nondeterministic(*n) || !n->subgraphs().empty() || n->outputs.empty()) continue;
    std::vector<RuntimeValue> values;
    bool constant = true;
    for (const Value* v : n->inputs) {
      if (!v) { values.emplace_back(); continue; }
      auto it = folded.find(v);
      auto shape = shapes.find(v);
      if (v->is_initializer()) values.emplace_back(*v->initializer);
      else if (it != folded.end()) values.emplace_back(*it->second);
      // Shape and Size read only their input's shape, which is static here: a stand-in of zeros does.
      else if ((n->op == OpKind::Shape || n->op == OpKind::Size) && shape != shapes.end() && v->dtype != DType::String &&
               static_cast<int64_t>(dtype_size(v->dtype)) * checked_numel(shape->second, "a shape") <= (int64_t{1} << 24))
        values.emplace_back(Tensor(v->dtype, shape->second));
      else { constant = false; break; }
    }
    if (!constant) continue;
    std::vector<const RuntimeValue*> ptrs;
    for (size_t i = 0; i < values.size(); ++i) ptrs.push_back(n->inputs[i] ? &values[i] : nullptr);
    RuntimeValues out;
    try {
      out = run_node_reference(*n, ptrs, g.opset);
    } catch (const Error&) {
      continue;  // the error shows when the model runs
    }
    bool keep = true;
    for (size_t i = 0; i < n->outputs.size(); ++i)
      if (n->outputs[i] && (!out[i].is_plain_tensor() || static_cast<int64_t>(out[i].tensor.nbytes()) > kMaxFoldedBytes))
        keep = false;
    if (!keep) continue;
    for (size_t i = 0; i < n->outputs.size(); ++i)
      if (n->outputs[i]) folded[n->outputs[i]] = std::make_shared<const Tensor>(std::move(out[i].tensor));
  }
  return folded;
}

// The inputs that configure a node rather than carry its data: all of them for ops made of
// parameters alone (Range, ConstantOfShape, the windows: known, they fold), else those after
// the first (Slice's starts, Resize's scales, Reshape's shape, a reduction's axes).
bool made_of_parameters(const Node& n) {
  switch (n.op) {
    case OpKind::Range: case OpKind::ConstantOfShape: case OpKind::HannWindow: case OpKind::HammingWindow:
    case OpKind::BlackmanWindow: case OpKind::MelWeightMatrix: return true;
    default: return false;
  }
}
std::vector<const Value*> parameter_inputs(const Node& n) {
  std::vector<const Value*> out;
  for (size_t i = made_of_parameters(n) ? 0 : 1; i < n.inputs.size(); ++i) if (n.inputs[i]) out.push_back(n.inputs[i]);
  return out;
}

// The small graph inputs that, with the initializers, decide the wanted values: were they
// constants, those values would fold. A value also reading a large or unknown-shaped input
// (the model's data) cannot fold, and contributes none.
std::vector<const Value*> inputs_deciding(const Graph& g, const std::vector<const Value*>& wanted, const ShapeMap& shapes,
                                          const Folded& folded) {
  constexpr int64_t kMaxElements = 64;
  std::set<const Value*> found, undecided;
  std::function<bool(const Value*, std::set<const Value*>&)> decided = [&](const Value* v, std::set<const Value*>& acc) {
    if (v->is_initializer() || folded.count(v)) return true;
    if (undecided.count(v)) return false;
    if (!v->producer) {
      auto s = shapes.find(v);
      bool graph_input = std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end();
      if (!graph_input || s == shapes.end() || !v->is_plain_tensor() || v->dtype == DType::String ||
          checked_numel(s->second, "an input") > kMaxElements)
        return false;
      acc.insert(v);
      return true;
    }
    const Node& n = *v->producer;
    if (n.op == OpKind::Shape || n.op == OpKind::Size) return shapes.count(n.inputs[0]) != 0;
    bool ok = !is_nondeterministic(n) && n.subgraphs().empty();
    for (const Value* in : n.inputs) ok = ok && (!in || decided(in, acc));
    if (!ok) undecided.insert(v);
    return ok;
  };
  for (const Value* v : wanted) {
    std::set<const Value*> acc;
    if (decided(v, acc)) found.insert(acc.begin(), acc.end());
  }
  std::vector<const Value*> out;
  for (const Value* v : g.inputs) if (found.count(v)) out.push_back(v);
  return out;
}

Slot make_slot(const Graph& g, const Value* v, const ShapeMap& shapes, const Folded& folded) {
  Slot s;
  s.value = v;
  s.dtype = v->dtype;
  auto it = shapes.find(v);
  bool is_static = it != shapes.end() && v->is_plain_tensor() && v->dtype != DType::String;
  if (is_static) s.shape = it->second;
  if (auto f = folded.find(v); f != folded.end()) {
    s.kind = Slot::Constant;
    s.constant = f->second;
    s.shape = f->second->shape();
  } else if (v->is_initializer()) {
    s.kind = Slot::Constant;
    s.constant = v->initializer;
  } else if (!v->producer && std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end()) {
    s.kind = is_static ? Slot::Input : Slot::Dynamic;
  } else if (!is_static) {
    s.kind = Slot::Dynamic;
  } else {
    s.kind = g.is_output(v) ? Slot::Output : Slot::Arena;
  }
  return s;
}

}  // namespace

std::shared_ptr<Program> compile_graph(const Graph& g, const ShapeMap& given_shapes, const CompileOptions& opts,
                                       CompileReport* report) {
  auto start = std::chrono::steady_clock::now();
  auto prog = std::make_shared<Program>();
  prog->graph = &g;
  prog->opset = g.opset;
  std::vector<Node*> order = g.topological_order();
  Folded folded;
  if (opts.use_kernels)
    folded = fold_constants(g, order, given_shapes, Folded(opts.input_values.begin(), opts.input_values.end()));
  // Folded values have known shapes even where shape inference gave none.
  ShapeMap shapes = given_shapes;
  for (const auto& [v, t] : folded) shapes[v] = t->shape();
  std::unordered_map<const Value*, int> slot_of;
  auto slot = [&](const Value* v) -> int {
    if (!v) return -1;
    if (auto it = slot_of.find(v); it != slot_of.end()) return it->second;
    prog->slots.push_back(make_slot(g, v, shapes, folded));
    return slot_of[v] = static_cast<int>(prog->slots.size() - 1);
  };
  for (const Value* v : g.inputs) prog->inputs.push_back(slot(v));
  for (const Value* v : g.initializers) slot(v);
  for (const Node* n : order) for (const Value* v : n->outputs) slot(v);
  for (const Value* v : g.outputs) prog->outputs.push_back(slot(v));
  // Graph inputs whose shape is dynamic are fine for reference kernels but need a shape
  // for kernels; Input slots need a static one.
  std::map<const Node*, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;

  CompileReport rep;
  std::vector<const Value*> wanted;  // values that would let a node lower were they constants
  std::set<const Node*> taken;
  std::vector<std::pair<size_t, Step>> steps;  // (position of the group's last node, step)
  KernelCache& cache = KernelCache::instance();
  size_t done = 0;
  for (const Node* head : order) {
    ++done;
    if (taken.count(head)) continue;
    if (!head->outputs.empty() && std::all_of(head->outputs.begin(), head->outputs.end(), [&](const Value* v) {
          return !v || folded.count(v);
        })) {
      ++rep.folded;
      continue;
    }
    taken.insert(head);
    Step step;
    step.nodes = {head};
    const Node* last = head;
    if (opts.use_kernels) {
      try {
        GroupBuilder b(g, shapes, prog->slots, slot_of);
        // A 1x1 convolution runs as a GEMM over its image's flattened pixels, and a global
        // pooling sums them, with the epilogue's tensors flattened alike.
        std::optional<std::pair<int64_t, int64_t>> flat = b.flatten_head(*head);
        LowerContext* head_ctx = nullptr;
        std::vector<TensorFunc> outs = b.lower(*head, &head_ctx);
        // Extend with the element-wise chain that consumes the result.
        while (outs.size() == 1) {
          const Value* v = last->outputs[0];
          if (v->users.size() != 1 || g.is_output(v)) break;
          const Node* u = v->users[0];
          if (!is_epilogue_op(*u) || taken.count(u)) break;
          auto us = shapes.find(u->outputs[0]);
          if (us == shapes.end() || us->second != shapes.at(v)) break;
          if (flat && !b.flatten_epilogue(*u, *flat)) break;
          GroupBuilder::Mark mark = b.mark();
          try {
            outs = b.lower(*u, nullptr);
          } catch (const std::exception&) {  // NotLowerable or a Halide error
            b.rollback(mark);  // a failed epilogue leaves the group as it was
            break;
          }
          step.nodes.push_back(u);
          taken.insert(u);
          last = u;
        }
        // Schedule and compile.
        std::vector<Func> out_funcs;
        for (size_t i = 0; i < outs.size(); ++i) {
          if (!last->outputs[i]) continue;
          Func f = outs[i].f;
          constrain_dense(f.output_buffer(), outs[i].shape);
          if (outs.size() == 1 && head_ctx->schedule) head_ctx->schedule(f, outs[i].shape);
          else schedule_default(f, outs[i].shape);
          out_funcs.push_back(f);
        }
        std::vector<Halide::Argument> args;
        for (const auto& p : b.inputs().params) args.push_back(p);
        std::vector<std::shared_ptr<const Tensor>> added;
        for (auto& ctx : b.contexts())
          for (size_t k = 0; k < ctx->params.size(); ++k) {
            args.push_back(ctx->params[k]);
            added.push_back(std::make_shared<const Tensor>(std::move(ctx->added_constants[k])));
          }
        bool compiled_now = false;
        Halide::Pipeline pipeline(out_funcs);
        step.kernel = cache.get(b.key(), [&](const std::string& obj, const std::string& fn) {
          pipeline.compile_to_object(obj, args, fn, kernel_target());
        }, &compiled_now);
        rep.compiled_now += compiled_now;
        for (const Value* v : b.inputs().values) step.inputs.push_back(slot_of.at(v)), step.views.push_back(b.view_of(v));
        for (auto& t : added) {
          Slot s;
          s.kind = Slot::Constant;
          s.dtype = t->dtype();
          s.shape = t->shape();
          s.constant = t;
          prog->slots.push_back(std::move(s));
          step.inputs.push_back(static_cast<int>(prog->slots.size() - 1));
          step.views.emplace_back();
        }
        for (const Value* v : last->outputs) if (v) step.outputs.push_back(slot(v)), step.views.push_back(b.view_of(v));
        if (std::all_of(step.views.begin(), step.views.end(), [](const Shape& s) { return s.empty(); })) step.views.clear();
        ++rep.kernels;
      } catch (const std::exception& e) {
        // NotLowerable, or Halide rejecting a pipeline (a bug in a lowering or schedule): the
        // node runs on its reference kernel, and the reason is reported.
        for (size_t i = 1; i < step.nodes.size(); ++i) taken.erase(step.nodes[i]);
        step = Step{};
        step.nodes = {head};
        last = head;
        auto* not_lowerable = dynamic_cast<const NotLowerable*>(&e);
        bool halide = not_lowerable == nullptr;
        // A parameter that must be constant, or an output shape that depends on input
        // values: knowing the parameters' values may give the node a kernel.
        if ((not_lowerable && not_lowerable->wants_constant) || made_of_parameters(*head) ||
            std::any_of(head->outputs.begin(), head->outputs.end(), [&](const Value* v) { return v && !shapes.count(v); }))
          for (const Value* v : parameter_inputs(*head)) wanted.push_back(v);
        rep.fallbacks.push_back(head->label() + ": " + (halide ? "Halide: " : "") + e.what());
      }
    } else {
      rep.fallbacks.push_back(head->label() + ": compiled kernels are off");
    }
    if (!step.kernel) {
      for (const Value* v : head->inputs) step.inputs.push_back(slot(v));
      for (const Value* v : head->outputs) step.outputs.push_back(slot(v));
    }
    steps.emplace_back(position[last], std::move(step));
    if (opts.progress) opts.progress(done, order.size());
  }
  std::stable_sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [pos, s] : steps) prog->steps.push_back(std::move(s));
  plan_memory(*prog);
  rep.value_inputs = inputs_deciding(g, wanted, shapes, folded);
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report) *report = std::move(rep);
  return prog;
}

}  // namespace nnc::cpu
