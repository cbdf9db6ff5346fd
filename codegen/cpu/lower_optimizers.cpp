// Lowerings of the ai.onnx.preview.training optimisers Adam, Adagrad and Momentum, following
// runtime/ref/training_ops.cpp: inputs R (learning rate) and T (update count), both read at
// run time, then n tensors X, their gradients G and the state groups (Momentum: V;
// Adagrad: H; Adam: V then H); outputs the new X group, then the new state groups. Element
// by element, in double.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

Expr scalar_of(const TensorFunc& t) { return t.at(Exprs(t.shape.size(), Expr(0))); }

// One element's update: (x, g, state, r, t) -> (x_new, new state).
struct Update {
  Expr x;
  std::vector<Expr> state;
};
using UpdateFn = std::function<Update(Expr x, Expr g, std::vector<Expr> state, Expr r, Expr t)>;

std::vector<TensorFunc> lower_optimizer(LowerContext& ctx, size_t num_state, const UpdateFn& update) {
  const size_t groups = 2 + num_state;
  ctx.require(ctx.num_inputs() > 2 && (ctx.num_inputs() - 2) % groups == 0, "unexpected input count");
  const size_t n = (ctx.num_inputs() - 2) / groups;
  ctx.require(ctx.num_outputs() <= (1 + num_state) * n, "unexpected output count");
  const TensorFunc &R = ctx.in(0), &T = ctx.in(1);
  ctx.require(is_float(R.dtype) && numel_of(R.shape) == 1, "R must be a float scalar");
  ctx.require(T.dtype == DType::Int64 && numel_of(T.shape) == 1, "T must be an int64 scalar");
  Expr r = as_double(scalar_of(R)), t = scalar_of(T);
  std::vector<TensorFunc> outs;
  for (size_t o = 0; o < ctx.num_outputs(); ++o) {
    const size_t which = o / n, k = o % n;  // 0: the new X, 1..: the new state
    const TensorFunc& X = ctx.in(2 + k);
    const TensorFunc& G = ctx.in(2 + n + k);
    ctx.require(is_float(X.dtype) && G.dtype == X.dtype && G.shape == X.shape, "G must match X");
    for (size_t j = 0; j < num_state; ++j) {
      const TensorFunc& S = ctx.in(2 + (2 + j) * n + k);
      ctx.require(S.dtype == X.dtype && S.shape == X.shape, "the optimizer state must match X");
    }
    outs.push_back(define_output(ctx, o, X.shape, [&](const Exprs& i) {
      std::vector<Expr> state;
      for (size_t j = 0; j < num_state; ++j) state.push_back(as_double(ctx.in(2 + (2 + j) * n + k).at(i)));
      Update u = update(as_double(X.at(i)), as_double(G.at(i)), state, r, t);
      return which == 0 ? u.x : u.state[which - 1];
    }));
  }
  return outs;
}

// A float attribute as a double Expr (the update runs in double).
Expr float_attr(const LowerContext& ctx, const char* name, float def) {
  return Expr(static_cast<double>(ctx.attrs().get_float(name, def)));
}

}  // namespace

std::vector<TensorFunc> lower_Adam(LowerContext& ctx) {
  const Expr alpha = float_attr(ctx, "alpha", 0.9f), beta = float_attr(ctx, "beta", 0.999f);
  const Expr epsilon = float_attr(ctx, "epsilon", 1e-6f), norm = float_attr(ctx, "norm_coefficient", 0.0f);
  const Expr norm_post = float_attr(ctx, "norm_coefficient_post", 0.0f);
  return lower_optimizer(ctx, 2, [=](Expr x, Expr g, std::vector<Expr> s, Expr r, Expr t) {
    // Bias correction of both moving averages, folded into the learning rate once T > 0.
    Expr td = as_double(t);
    Expr corrected = r * Halide::sqrt(Expr(1.0) - Halide::pow(beta, td)) / (Expr(1.0) - Halide::pow(alpha, td));
    Expr rate = Halide::select(t > Expr(int64_t{0}), corrected, r);
    Expr g_reg = norm * x + g;
    Expr v = alpha * s[0] + (1 - alpha) * g_reg;
    Expr h = beta * s[1] + (1 - beta) * g_reg * g_reg;
    Expr x_new = x - rate * v / (Halide::sqrt(h) + epsilon);
    return Update{(1 - norm_post) * x_new, {v, h}};
  });
}

std::vector<TensorFunc> lower_Adagrad(LowerContext& ctx) {
  const Expr decay = float_attr(ctx, "decay_factor", 0.0f), epsilon = float_attr(ctx, "epsilon", 1e-6f);
  const Expr norm = float_attr(ctx, "norm_coefficient", 0.0f);
  return lower_optimizer(ctx, 1, [=](Expr x, Expr g, std::vector<Expr> s, Expr r, Expr t) {
    Expr rate = r / (Expr(1.0) + as_double(t) * decay);
    Expr g_reg = norm * x + g;
    Expr h = s[0] + g_reg * g_reg;
    return Update{x - rate * g_reg / (Halide::sqrt(h) + epsilon), {h}};
  });
}

std::vector<TensorFunc> lower_Momentum(LowerContext& ctx) {
  for (const char* a : {"alpha", "beta", "norm_coefficient", "mode"})
    ctx.require(ctx.attrs().has(a), std::string("missing the required attribute '") + a + "'");
  const Expr alpha = float_attr(ctx, "alpha", 0), beta = float_attr(ctx, "beta", 0);
  const Expr norm = float_attr(ctx, "norm_coefficient", 0);
  const std::string mode = ctx.attrs().get_string("mode", "");
  ctx.require(mode == "standard" || mode == "nesterov", "mode must be 'standard' or 'nesterov'");
  const bool nesterov = mode == "nesterov";
  return lower_optimizer(ctx, 1, [=](Expr x, Expr g, std::vector<Expr> s, Expr r, Expr t) {
    Expr beta_adjusted = Halide::select(t > Expr(int64_t{0}), beta, Expr(1.0));  // the first step takes all of g
    Expr g_reg = norm * x + g;
    Expr v = alpha * s[0] + beta_adjusted * g_reg;
    return Update{nesterov ? x - r * (g_reg + alpha * v) : x - r * v, {v}};
  });
}

}  // namespace nnc::cpu
