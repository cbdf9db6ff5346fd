// Builds the training step graph described in passes/training_graph.h.
#include "passes/training_graph.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <set>

#include "frontend/onnx.h"
#include "ir/error.h"
#include "passes/autodiff.h"
#include "passes/dead_code.h"
#include "passes/pattern.h"

namespace nnc {

namespace {

constexpr OpKind kLearningOps[] = {OpKind::Gemm, OpKind::MatMul, OpKind::Conv, OpKind::ConvTranspose, OpKind::BatchNormalization,
                                   OpKind::LayerNormalization, OpKind::PRelu, OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div};

Shape static_shape(const Value* v, const std::string& what) {
  if (!v->has_static_shape()) throw Error("training: " + what + " '" + v->name + "' needs a static shape (" + v->type_str() + ")");
  return v->static_shape();
}

// Initializer -> graph input of the same name (the Value object stays, so its uses do too).
void make_input(Graph& g, Value* v) {
  g.initializers.erase(std::remove(g.initializers.begin(), g.initializers.end(), v), g.initializers.end());
  v->initializer.reset();
  g.inputs.push_back(v);
}

Value* new_input(Graph& g, const std::string& name, DType dtype, const Shape& shape) {
  Dims dims;
  for (int64_t d : shape) dims.push_back(Dim::fixed(d));
  return g.add_input(g.unique_name(name), dtype, dims);
}

// BatchNormalization in training mode, in primitive ops over the batch statistics (see the header).
void expand_batch_norm(Graph& g, GradientBuilder& b, Node* n, TrainingGraph& tg) {
  Value *x = n->input(0), *scale = n->input(1), *bias = n->input(2), *mean = n->input(3), *var = n->input(4);
  Shape xs = static_shape(x, "BatchNormalization input");
  int64_t count = 1, C = xs.at(1);
  std::vector<int64_t> axes{0};
  Shape per_channel{1, C};
  for (size_t i = 2; i < xs.size(); ++i) {
    axes.push_back(static_cast<int64_t>(i));
    per_channel.push_back(1);
  }
  for (size_t i = 0; i < xs.size(); ++i) count *= i == 1 ? 1 : xs[i];
  double momentum = n->attrs.get_float("momentum", 0.9f), eps = n->attrs.get_float("epsilon", 1e-5f);
  auto batch_mean = [&](Value* v) {
    Value* sum = b.reduce_sum(v, axes, true);
    return b.mul(sum, b.scalar(1.0 / static_cast<double>(count), x), sum);
  };
  Value* mu = batch_mean(x);
  Value* centred = b.sub(x, mu, x);
  Value* sigma2 = batch_mean(b.mul(centred, centred, x));
  Value* inv = b.op(OpKind::Reciprocal, {b.op(OpKind::Sqrt, {b.add(sigma2, b.scalar(eps, x), sigma2)}, sigma2)}, sigma2);
  Value* y = b.add(b.mul(b.mul(centred, inv, x), b.reshape(scale, per_channel), x), b.reshape(bias, per_channel), x);
  auto running = [&](Value* old, Value* batch_stat) {
    Value* blended = b.add(b.mul(old, b.scalar(momentum, old), old), b.mul(b.reshape(batch_stat, {C}), b.scalar(1 - momentum, old), old), old);
    if (!constant_of(old)) throw Error("training: " + n->label() + ": the running statistics must be initializers");
    make_input(g, old);
    tg.state.push_back({old->name, blended->name});
    g.outputs.push_back(blended);
  };
  running(mean, mu);
  running(var, sigma2);
  Value* out = n->outputs[0];
  g.remove_node(n);
  if (!g.replace_value(out, y)) throw Error("training: " + n->label() + ": cannot rewire its output");
}

// Dropout -> x·mask with the mask an input.
Value* masked(Graph& g, GradientBuilder& b, Value* x, double ratio, TrainingGraph& tg) {
  Value* mask = new_input(g, "dropout_mask", x->dtype, static_shape(x, "dropout input"));
  tg.dropout_masks.push_back({mask->name, ratio});
  return b.mul(x, mask, x);
}

void apply_dropout(Graph& g, GradientBuilder& b, const TrainingOptions& opts, TrainingGraph& tg) {
  std::vector<Node*> dropouts;
  for (const auto& n : g.nodes())
    if (n->op == OpKind::Dropout) dropouts.push_back(n.get());
  for (Node* n : dropouts) {
    double ratio = opts.dropout >= 0 ? opts.dropout
                   : n->input(1) ? scalar_constant(n->input(1)).value_or(0.5) : n->attrs.get_float("ratio", 0.5f);
    Value *x = n->input(0), *out = n->outputs[0];
    g.remove_node(n);
    g.replace_value(out, ratio > 0 ? masked(g, b, x, ratio, tg) : x);
  }
  if (!dropouts.empty() || opts.dropout <= 0) return;
  std::vector<Node*> layers;
  for (const auto& n : g.nodes())
    if ((n->op == OpKind::Gemm || n->op == OpKind::MatMul) && n->input(0) &&
        std::find(g.inputs.begin(), g.inputs.end(), n->input(0)) == g.inputs.end() && !constant_of(n->input(0)))
      layers.push_back(n.get());
  for (Node* n : layers) g.set_input(n, 0, masked(g, b, n->input(0), opts.dropout, tg));
}

Value* emit_loss(GradientBuilder& b, LossKind kind, Value* pred, Value* target) {
  Shape ps = static_shape(pred, "prediction");
  int64_t numel = 1;
  for (int64_t d : ps) numel *= d;
  auto mean_of = [&](Value* v, double count) {
    Value* sum = b.reduce_sum(v, {}, false);
    return b.mul(sum, b.scalar(1.0 / count, pred), sum);
  };
  switch (kind) {
    // −(1/B)·Σ target·log_softmax(pred)
    case LossKind::SoftmaxCrossEntropy: {
      if (ps.size() != 2) throw Error("training: cross-entropy needs predictions of shape [batch, classes], got " + pred->type_str());
      Attributes a;
      a.set("axis", int64_t{1});
      Value* logp = b.op(OpKind::LogSoftmax, {pred}, pred, std::move(a));
      Value* mean = mean_of(b.mul(target, logp, pred), static_cast<double>(ps[0]));
      return b.op(OpKind::Neg, {mean}, mean);
    }
    // mean((pred − target)²)
    case LossKind::MeanSquaredError: {
      Value* d = b.sub(pred, target, pred);
      return mean_of(b.mul(d, d, pred), static_cast<double>(numel));
    }
    // mean(softplus(z) − t·z) = mean of −t·log σ(z) − (1 − t)·log(1 − σ(z)), stable for logits z
    case LossKind::BinaryCrossEntropy:
      return mean_of(b.sub(b.op(OpKind::Softplus, {pred}, pred), b.mul(target, pred, pred), pred), static_cast<double>(numel));
  }
  throw Error("unknown loss");
}

// λ₁·sign(w) + λ₂·w on weights, then clipping by value and by global norm.
void adjust_gradients(GradientBuilder& b, const TrainingOptions& opts, const std::vector<Value*>& params, std::vector<Value*>& grads) {
  for (size_t i = 0; i < params.size(); ++i) {
    Value* w = params[i];
    if (!w->dims || w->dims->size() < 2) continue;
    if (opts.l2 != 0) grads[i] = b.add(grads[i], b.mul(w, b.scalar(opts.l2, w), w), w);
    if (opts.l1 != 0) grads[i] = b.add(grads[i], b.mul(b.op(OpKind::Sign, {w}, w), b.scalar(opts.l1, w), w), w);
  }
  if (opts.clip_value > 0)
    for (size_t i = 0; i < params.size(); ++i)
      grads[i] = b.op(OpKind::Clip, {grads[i], b.scalar(-opts.clip_value, params[i]), b.scalar(opts.clip_value, params[i])}, params[i]);
  if (opts.clip_norm > 0 && !params.empty()) {
    // scale = min(1, c / max(‖g‖, tiny)), ‖g‖ over all parameters together
    Value* sq = nullptr;
    Value* like = nullptr;
    for (Value* gr : grads) {
      Value* part = b.reduce_sum(b.mul(gr, gr, gr), {}, false);
      sq = sq ? b.add(sq, part, part) : part;
      like = part;
    }
    Value* norm = b.op(OpKind::Sqrt, {sq}, like);
    Value* ratio = b.div(b.scalar(opts.clip_norm, like), b.op(OpKind::Max, {norm, b.scalar(1e-12, like)}, like), like);
    Value* scale = b.op(OpKind::Min, {ratio, b.scalar(1, like)}, like);
    for (size_t i = 0; i < params.size(); ++i) grads[i] = b.mul(grads[i], scale, params[i]);
  }
}

}  // namespace

LossKind parse_loss(const std::string& name) {
  if (name == "cross-entropy" || name == "ce") return LossKind::SoftmaxCrossEntropy;
  if (name == "mse") return LossKind::MeanSquaredError;
  if (name == "bce") return LossKind::BinaryCrossEntropy;
  throw Error("unknown loss '" + name + "' (expected cross-entropy, mse or bce)");
}

std::string loss_name(LossKind k) {
  switch (k) {
    case LossKind::SoftmaxCrossEntropy: return "cross-entropy";
    case LossKind::MeanSquaredError: return "mse";
    case LossKind::BinaryCrossEntropy: return "bce";
  }
  return "?";
}

bool matches_pattern(const std::string& name, const std::string& pattern) {
  // Iterative glob with one backtrack point for the last '*'.
  size_t n = 0, p = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++n, ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, mark = n;
    } else if (star != std::string::npos) {
      p = star + 1, n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::unique_ptr<Graph> clone_graph(const Graph& g, std::optional<int64_t> batch) {
  onnx::ModelProto m = export_onnx_model(g);
  if (batch)
    for (auto& in : *m.mutable_graph()->mutable_input()) {
      auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() == 0) continue;
      if (*batch > 0) shape->mutable_dim(0)->set_dim_value(*batch);
      else shape->mutable_dim(0)->set_dim_param("batch");
    }
  return import_onnx_model(std::move(m), "");
}

std::vector<std::string> running_statistics(const Graph& model) {
  std::vector<std::string> out;
  for (const auto& n : model.nodes())
    if (n->op == OpKind::BatchNormalization)
      for (size_t i : {3, 4})
        if (n->input(i) && constant_of(n->input(i))) out.push_back(n->input(i)->name);
  return out;
}

std::vector<std::string> trainable_parameters(const Graph& model) {
  std::vector<std::string> stats = running_statistics(model), out;
  for (const Value* v : model.initializers) {
    const Tensor* t = constant_of(v);
    if (!t || !is_float(t->dtype()) || t->numel() < 2 || std::count(stats.begin(), stats.end(), v->name)) continue;
    bool learns = !v->users.empty() && std::all_of(v->users.begin(), v->users.end(), [](const Node* n) {
      return std::count(std::begin(kLearningOps), std::end(kLearningOps), n->op) > 0;
    });
    if (learns) out.push_back(v->name);
  }
  return out;
}

TrainingGraph build_training_graph(const Graph& model, const TrainingOptions& opts, int64_t batch) {
  if (model.inputs.size() != 1 || model.outputs.empty())
    throw Error("training: the model needs exactly one input and at least one output (it has " + std::to_string(model.inputs.size()) +
                " inputs)");
  TrainingGraph tg;
  tg.graph = clone_graph(model, batch);
  Graph& g = *tg.graph;
  GradientBuilder b(g);
  std::vector<std::string> names = trainable_parameters(g);
  std::vector<Value*> params;
  for (const std::string& name : names) {
    bool frozen = std::any_of(opts.freeze.begin(), opts.freeze.end(), [&](const std::string& p) { return matches_pattern(name, p); });
    if (frozen) {
      tg.frozen.push_back(name);
      continue;
    }
    Value* v = g.find_value(name);
    make_input(g, v);
    params.push_back(v);
  }
  if (params.empty()) throw Error("training: the model has no trainable parameters (all frozen?)");

  tg.data = g.inputs[0]->name;
  g.outputs = {g.outputs[0]};
  std::vector<Node*> norms;
  for (const auto& n : g.nodes())
    if (n->op == OpKind::BatchNormalization) norms.push_back(n.get());
  for (Node* n : norms) expand_batch_norm(g, b, n, tg);
  apply_dropout(g, b, opts, tg);
  Value* pred = g.outputs[0];  // (rewiring BatchNorm or Dropout may have replaced it)
  tg.prediction = pred->name;

  Value* target = new_input(g, "target", pred->dtype, static_shape(pred, "prediction"));
  Value* lr = new_input(g, "learning_rate", params[0]->dtype, {});
  Value* step = new_input(g, "step", params[0]->dtype, {});
  tg.target = target->name, tg.lr = lr->name, tg.step = step->name;
  Value* loss = emit_loss(b, opts.loss, pred, target);
  tg.loss = loss->name;

  std::vector<Value*> grads = build_gradients(g, loss, params);
  adjust_gradients(b, opts, params, grads);
  std::vector<Value*> outputs{loss, pred};
  std::vector<StepSlot> optimizer_state;
  int states = optimizer_state_count(opts.optimizer.kind);
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<Value*> state;
    for (int s = 0; s < states; ++s)
      state.push_back(new_input(g, params[i]->name + ".optimizer" + std::to_string(s), params[i]->dtype, static_shape(params[i], "parameter")));
    ParameterUpdate u = emit_update(b, opts.optimizer, params[i], grads[i], state, lr, step);
    tg.params.push_back({params[i]->name, u.x->name});
    outputs.push_back(u.x);
    for (int s = 0; s < states; ++s) {
      optimizer_state.push_back({state[static_cast<size_t>(s)]->name, u.state[static_cast<size_t>(s)]->name});
      outputs.push_back(u.state[static_cast<size_t>(s)]);
    }
  }
  // The running statistics' outputs were appended while expanding BatchNorm.
  for (size_t i = 1; i < g.outputs.size(); ++i) outputs.push_back(g.outputs[i]);
  tg.state.insert(tg.state.begin(), optimizer_state.begin(), optimizer_state.end());
  g.outputs = outputs;
  eliminate_dead_code(g, {});  // rules emit gradients for every input; only the parameters' are read
  g.sort_topologically();
  return tg;
}

std::unique_ptr<Graph> build_eval_graph(const Graph& model, const std::vector<std::string>& as_inputs) {
  std::unique_ptr<Graph> g = clone_graph(model, 0);
  for (const std::string& name : as_inputs) {
    Value* v = g->find_value(name);
    if (!v || !constant_of(v)) throw Error("evaluation: '" + name + "' is not an initializer of the model");
    make_input(*g, v);
  }
  std::vector<Node*> dropouts;
  for (const auto& n : g->nodes())
    if (n->op == OpKind::Dropout) dropouts.push_back(n.get());
  for (Node* n : dropouts) {
    Value *x = n->input(0), *out = n->outputs[0];
    g->remove_node(n);
    g->replace_value(out, x);
  }
  g->collect_garbage();
  return g;
}

}  // namespace nnc
