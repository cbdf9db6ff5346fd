#include "passes/batchnorm_folding.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "passes/pattern.h"

namespace nnc {
namespace {

// Where a linear op keeps the BN's channel (its output axis 1) in its weight, and its bias.
struct Layout {
  int weight;  // input index of the weight
  int axis;    // the weight axis holding the output channels
  int bias;    // input index of the bias, -1 when the op has none (MatMul: an Add after it)
  int rank;    // the weight's required rank, 0 = any
};

std::optional<Layout> layout_of(const Node* p) {
  switch (p->op) {
    case OpKind::Conv: return Layout{1, 0, 2, 0};
    case OpKind::ConvTranspose:
      if (p->attrs.get_int("group", 1) != 1) return std::nullopt;
      return Layout{1, 1, 2, 0};
    case OpKind::Gemm: return Layout{1, p->attrs.get_int("transB", 0) != 0 ? 0 : 1, 2, 2};
    case OpKind::MatMul: return Layout{1, 1, -1, 2};
    default: return std::nullopt;
  }
}

// A constant of dtype `dt`, or nullptr.
const Tensor* constant_of_type(const Value* v, DType dt) {
  const Tensor* t = constant_of(v);
  return t && t->dtype() == dt ? t : nullptr;
}

int known_rank(const Value* v) { return v && v->dims ? static_cast<int>(v->dims->size()) : -1; }

// What was matched: BN <- [Add(bias) <-] linear.
struct Match {
  Node* bn = nullptr;
  Node* linear = nullptr;
  Node* add = nullptr;          // MatMul only: the Add between it and the BN
  Value* bias = nullptr;        // the linear op's bias input or the Add's constant, or null
  Layout layout{};
  DType dt = DType::Undefined;  // of the weights and the BN parameters
  int64_t channels = 0;
};

// The BN's scale, B, mean and var: constant vectors of one float dtype and one length.
bool match_bn(const Node* bn, Match& m) {
  int live_outputs = 0;
  for (const Value* v : bn->outputs) live_outputs += v ? 1 : 0;
  if (live_outputs != 1 || !bn->outputs[0] || bn->attrs.get_int("training_mode", 0) != 0) return false;
  if (bn->inputs.size() != 5 || !bn->input(0) || !constant_of(bn->input(1))) return false;
  m.dt = constant_of(bn->input(1))->dtype();
  if (m.dt != DType::Float32 && m.dt != DType::Float64) return false;
  m.channels = constant_of(bn->input(1))->numel();
  for (int i = 1; i < 5; ++i) {
    const Tensor* t = constant_of_type(bn->input(i), m.dt);
    if (!t || t->rank() != 1 || t->numel() != m.channels) return false;
  }
  return true;
}

// MatMul's output must be 2-D so that the BN channel (axis 1) is its last axis, N.
bool matmul_output_is_2d(const Match& m) {
  int rank = known_rank(m.bn->input(0));
  if (rank >= 0) return rank == 2;
  const int a = known_rank(m.linear->input(0));
  if (a < 0) return false;
  return std::max(a, m.bias ? constant_of(m.bias)->rank() : 0) == 2;
}

bool match_producer(const Graph& g, Match& m) {
  Value* x = m.bn->input(0);
  if (!has_single_use(g, x)) return false;
  if (Node* add = producer_of(x, OpKind::Add)) {  // MatMul -> Add(bias) -> BN
    auto operands = match_either(add, [&](Value* v) { return constant_of_type(v, m.dt) != nullptr; });
    if (!operands || !has_single_use(g, operands->second)) return false;
    m.add = add;
    m.bias = operands->first;
    m.linear = producer_of(operands->second, OpKind::MatMul);
  } else if (x->producer && !x->producer->removed && x->producer->outputs.size() == 1) {
    m.linear = x->producer;
  }
  if (!m.linear) return false;
  auto layout = layout_of(m.linear);
  if (!layout) return false;
  m.layout = *layout;
  const Tensor* w = constant_of_type(m.linear->input(m.layout.weight), m.dt);
  if (!w || m.layout.axis >= w->rank() || w->dim(m.layout.axis) != m.channels) return false;
  if (m.layout.rank != 0 && w->rank() != m.layout.rank) return false;
  if (m.layout.bias >= 0) {  // an absent bias counts as 0
    m.bias = m.linear->input(m.layout.bias);
    if (m.bias && !constant_of_type(m.bias, m.dt)) return false;
  }
  return m.linear->op != OpKind::MatMul || matmul_output_is_2d(m);
}

// Emits the ops computing the folded weights, for fold-constants to evaluate.
class Emitter {
 public:
  Emitter(Graph& g, DType dt, std::string base) : g_(g), dt_(dt), base_(std::move(base)) {}
  Value* op(OpKind k, const std::vector<Value*>& ins) {
    Value* out = g_.add_node(k, ins, 1)->outputs[0];
    out->dtype = dt_;
    return out;
  }
  Value* scalar(const std::string& suffix, float v) {
    return add_constant(g_, base_ + suffix, Tensor::scalar_float(v).cast(dt_));
  }
  // s reshaped to `rank` dims: `channels` on `axis`, 1 elsewhere.
  Value* along_axis(Value* s, int rank, int axis, int64_t channels) {
    std::vector<int64_t> shape(static_cast<size_t>(rank), 1);
    shape[static_cast<size_t>(axis)] = channels;
    Value* shape_v = add_constant(g_, base_ + "_scale_shape", Tensor::from_int64s(shape, {rank}));
    return op(OpKind::Reshape, {s, shape_v});
  }

 private:
  Graph& g_;
  DType dt_;
  std::string base_;
};

void rewrite(Graph& g, const Match& m) {
  Node* bn = m.bn;
  Emitter e(g, m.dt, bn->name);
  Value *gamma = bn->input(1), *beta = bn->input(2), *mean = bn->input(3), *var = bn->input(4);
  const float eps = bn->attrs.get_float("epsilon", 1e-5f);
  Value* s = e.op(OpKind::Div, {gamma, e.op(OpKind::Sqrt, {e.op(OpKind::Add, {var, e.scalar("_eps", eps)})})});

  Value* w = m.linear->input(m.layout.weight);
  Value* w2 = e.op(OpKind::Mul, {w, e.along_axis(s, constant_of(w)->rank(), m.layout.axis, m.channels)});

  Attributes attrs = m.linear->attrs;
  Value* bias = m.bias;
  if (m.linear->op == OpKind::Gemm) {  // alpha*A*B + beta*C: beta moves into C
    const float gemm_beta = attrs.get_float("beta", 1.0f);
    if (bias && gemm_beta != 1.0f) bias = e.op(OpKind::Mul, {bias, e.scalar("_gemm_beta", gemm_beta)});
    attrs.set("beta", 1.0f);
  }
  Value* b2 = bias ? e.op(OpKind::Add, {e.op(OpKind::Mul, {e.op(OpKind::Sub, {bias, mean}), s}), beta})
                   : e.op(OpKind::Sub, {beta, e.op(OpKind::Mul, {mean, s})});

  Value* y = bn->outputs[0];
  const std::string name = g.unique_name(m.linear->name);
  if (m.linear->op == OpKind::MatMul) {  // MatMul(A, W') then Add(b')
    Node* mm = g.add_node(OpKind::MatMul, {m.linear->input(0), w2}, 1, name, attrs);
    mm->outputs[0]->dtype = m.dt;
    replace_result(g, y, OpKind::Add, {mm->outputs[0], b2}, m.add ? m.add->attrs : Attributes{});
    return;
  }
  std::vector<Value*> inputs = m.linear->inputs;
  inputs.resize(std::max<size_t>(inputs.size(), static_cast<size_t>(m.layout.bias) + 1));
  inputs[static_cast<size_t>(m.layout.weight)] = w2;
  inputs[static_cast<size_t>(m.layout.bias)] = b2;
  replace_result(g, y, m.linear->op, inputs, std::move(attrs), name);
}

}  // namespace

bool fold_batchnorm(Graph& g, const PassOptions&) {
  // Before opset 7, Add/Mul broadcast only with an attribute and Reshape's shape is one too.
  if (g.opset < 7) return false;
  bool changed = false;
  for (Node* n : g.topological_order()) {
    if (n->removed || n->op != OpKind::BatchNormalization) continue;
    Match m;
    m.bn = n;
    if (!match_bn(n, m) || !match_producer(g, m)) continue;
    rewrite(g, m);
    changed = true;
  }
  return changed;
}

}  // namespace nnc
