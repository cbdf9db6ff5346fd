// The update rules of passes/optimizers.h, written as the ONNX spec writes them.
#include "passes/optimizers.h"

#include "ir/error.h"

namespace nnc {

namespace {

struct Named {
  const char* name;
  OptimizerKind kind;
};
constexpr Named kOptimizers[] = {{"sgd", OptimizerKind::SGD},   {"momentum", OptimizerKind::Momentum},
                                 {"nesterov", OptimizerKind::Nesterov}, {"adam", OptimizerKind::Adam},
                                 {"adamw", OptimizerKind::AdamW}, {"adagrad", OptimizerKind::Adagrad}};

}  // namespace

OptimizerKind parse_optimizer(const std::string& name) {
  std::string all;
  for (const Named& o : kOptimizers) {
    if (name == o.name) return o.kind;
    all += std::string(all.empty() ? "" : ", ") + o.name;
  }
  throw Error("unknown optimizer '" + name + "' (expected one of " + all + ")");
}

std::string optimizer_name(OptimizerKind k) {
  for (const Named& o : kOptimizers)
    if (o.kind == k) return o.name;
  return "?";
}

int optimizer_state_count(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::SGD: return 0;
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW: return 2;
    default: return 1;
  }
}

ParameterUpdate emit_update(GradientBuilder& b, const OptimizerConfig& c, Value* x, Value* g,
                            const std::vector<Value*>& state, Value* lr, Value* t) {
  if (state.size() != static_cast<size_t>(optimizer_state_count(c.kind)))
    throw Error("optimizer " + optimizer_name(c.kind) + ": wrong number of state tensors for '" + x->name + "'");
  auto k = [&](double v) { return b.scalar(v, x); };
  auto scalar_op = [&](OpKind op, std::vector<Value*> ins) { return b.op(op, ins, lr); };
  Value* t_positive = b.op(OpKind::Greater, {t, b.scalar(0, t)}, DType::Bool);
  // g + c·x
  Value* gr = c.norm_coefficient != 0 ? b.add(g, b.mul(k(c.norm_coefficient), x, x), x) : g;
  switch (c.kind) {
    // x' = x − lr·g
    case OptimizerKind::SGD: return {b.sub(x, b.mul(lr, gr, x), x), {}};
    // v' = α·v + β'·g (β' = β once t > 0, else 1);  x' = x − lr·v'  (Nesterov: x' = x − lr·(g + α·v'))
    case OptimizerKind::Momentum:
    case OptimizerKind::Nesterov: {
      Value* beta = scalar_op(OpKind::Where, {t_positive, b.scalar(c.momentum_beta, lr), b.scalar(1, lr)});
      Value* v = b.add(b.mul(k(c.momentum), state[0], x), b.mul(beta, gr, x), x);
      Value* step = c.kind == OptimizerKind::Momentum ? v : b.add(gr, b.mul(k(c.momentum), v, x), x);
      return {b.sub(x, b.mul(lr, step, x), x), {v}};
    }
    // v' = β₁·v + (1−β₁)·g;  h' = β₂·h + (1−β₂)·g²;  lr' = lr·√(1−β₂ᵗ)/(1−β₁ᵗ) once t > 0;
    // x' = x − lr'·v'/(√h' + ε), then (1 − post)·x' (ONNX) or x' − lr·wd·x (AdamW)
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW: {
      Value* v = b.add(b.mul(k(c.beta1), state[0], x), b.mul(k(1 - c.beta1), gr, x), x);
      Value* h = b.add(b.mul(k(c.beta2), state[1], x), b.mul(k(1 - c.beta2), b.mul(gr, gr, x), x), x);
      auto one_minus_pow = [&](double base) {
        return scalar_op(OpKind::Sub, {b.scalar(1, lr), scalar_op(OpKind::Pow, {b.scalar(base, lr), t})});
      };
      Value* corrected = scalar_op(OpKind::Div, {scalar_op(OpKind::Mul, {lr, scalar_op(OpKind::Sqrt, {one_minus_pow(c.beta2)})}),
                                                 one_minus_pow(c.beta1)});
      Value* rate = scalar_op(OpKind::Where, {t_positive, corrected, lr});
      Value* denom = b.add(b.op(OpKind::Sqrt, {h}, x), k(c.epsilon), x);
      Value* nx = b.sub(x, b.mul(rate, b.div(v, denom, x), x), x);
      if (c.norm_coefficient_post != 0) nx = b.mul(k(1 - c.norm_coefficient_post), nx, x);
      if (c.kind == OptimizerKind::AdamW) nx = b.sub(nx, b.mul(b.mul(lr, k(c.weight_decay), lr), x, x), x);
      return {nx, {v, h}};
    }
    // lr' = lr/(1 + t·decay);  h' = h + g²;  x' = x − lr'·g/(√h' + ε)
    case OptimizerKind::Adagrad: {
      Value* rate = scalar_op(OpKind::Div, {lr, scalar_op(OpKind::Add, {b.scalar(1, lr), scalar_op(OpKind::Mul, {t, b.scalar(c.decay_factor, lr)})})});
      Value* h = b.add(state[0], b.mul(gr, gr, x), x);
      Value* denom = b.add(b.op(OpKind::Sqrt, {h}, x), k(c.epsilon), x);
      return {b.sub(x, b.mul(rate, b.div(gr, denom, x), x), x), {h}};
    }
  }
  throw Error("unknown optimizer");
}

}  // namespace nnc
