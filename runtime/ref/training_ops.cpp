// Reference kernels of the ai.onnx.preview.training optimisers: Adam, Adagrad and Momentum.
// One node updates n tensors at once. Its inputs are R (the scalar learning rate), T (the
// scalar update count), then groups of n tensors each: X1..Xn, G1..Gn (the gradients) and the
// optimiser's state (Momentum: V; Adagrad: H; Adam: V then H). Its outputs are the new X
// group followed by the new state groups, in the same order. Every tensor is updated on its
// own, element by element, with the formulas of the ONNX spec; the arithmetic is in double.
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/ref/kernels.h"

namespace nnc {

namespace {

constexpr size_t kMaxState = 2;  // Adam's V and H
using State = std::array<double, kMaxState>;

// The learning rate R and update count T shared by every tensor of the node.
struct Step {
  double r = 0;
  int64_t t = 0;
};

Step read_step(const KernelContext& ctx) {
  const Tensor& R = ctx.in(0);
  const Tensor& T = ctx.in(1);
  ctx.require(is_float(R.dtype()) && R.numel() == 1, "R must be a float scalar");
  ctx.require(T.dtype() == DType::Int64 && T.numel() == 1, "T must be an int64 scalar");
  return {R.at_double(0), T.to_int64s()[0]};
}

// A float attribute the schema declares without a default (Momentum's).
float required_float(const KernelContext& ctx, const std::string& name) {
  ctx.require(ctx.attrs().has(name), "missing the required attribute '" + name + "'");
  return ctx.attrs().get_float(name, 0.0f);
}

// The shared driver: checks the variadic layout and applies `update(x, g, state) -> x_new`
// (which updates `state` in place) to every element of every optimised tensor.
template <class Update>
Tensors optimize(const KernelContext& ctx, size_t num_state, Update update) {
  const size_t groups = 2 + num_state;  // X, G, then the state tensors
  const size_t variadic = ctx.num_inputs() >= 2 ? ctx.num_inputs() - 2 : 0;
  ctx.require(variadic > 0 && variadic % groups == 0,
              "expected R, T and " + std::to_string(groups) + " groups of n tensors, got " +
                  std::to_string(ctx.num_inputs()) + " inputs");
  const size_t n = variadic / groups;
  const size_t num_results = (1 + num_state) * n;
  ctx.require(ctx.num_outputs() <= num_results, "expected at most " + std::to_string(num_results) +
                                                     " outputs, got " + std::to_string(ctx.num_outputs()));
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    ctx.require(ctx.has_input(i), "input " + std::to_string(i) + " is missing");

  Tensors results(num_results);
  for (size_t k = 0; k < n; ++k) {
    const Tensor& X = ctx.in(2 + k);
    const Tensor& G = ctx.in(2 + n + k);
    ctx.require(is_float(X.dtype()), "the optimised tensors must be float, got " + std::string(dtype_name(X.dtype())));
    std::vector<const Tensor*> state_in;
    for (size_t j = 0; j < num_state; ++j) state_in.push_back(&ctx.in(2 + (2 + j) * n + k));
    for (const Tensor* t : state_in) {
      ctx.require(t->dtype() == X.dtype() && t->shape() == X.shape(), "tensor " + std::to_string(k) +
                      "'s optimizer state must match X's dtype and shape " + shape_str(X.shape()));
    }
    ctx.require(G.dtype() == X.dtype() && G.shape() == X.shape(),
                "tensor " + std::to_string(k) + "'s gradient must match X's dtype and shape " + shape_str(X.shape()));

    Tensor x_new(X.dtype(), X.shape());
    std::vector<Tensor> state_new(num_state, Tensor(X.dtype(), X.shape()));
    for (int64_t e = 0; e < X.numel(); ++e) {
      State s{};
      for (size_t j = 0; j < num_state; ++j) s[j] = state_in[j]->at_double(e);
      x_new.set_double(e, update(X.at_double(e), G.at_double(e), s));
      for (size_t j = 0; j < num_state; ++j) state_new[j].set_double(e, s[j]);
    }
    results[k] = std::move(x_new);
    for (size_t j = 0; j < num_state; ++j) results[(1 + j) * n + k] = std::move(state_new[j]);
  }
  results.resize(ctx.num_outputs());
  return results;
}

}  // namespace

Tensors ref_Adam(const KernelContext& ctx) {
  const Attributes& a = ctx.attrs();
  const double alpha = a.get_float("alpha", 0.9f);
  const double beta = a.get_float("beta", 0.999f);
  const double epsilon = a.get_float("epsilon", 1e-6f);
  const double norm = a.get_float("norm_coefficient", 0.0f);
  const double norm_post = a.get_float("norm_coefficient_post", 0.0f);
  const Step step = read_step(ctx);
  // Bias correction of both moving averages, folded into the learning rate (only once T > 0).
  const double t = static_cast<double>(step.t);
  const double r = step.t > 0 ? step.r * std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t)) : step.r;
  return optimize(ctx, 2, [&](double x, double g, State& s) {
    const double g_reg = norm * x + g;  // gradient of 0.5 * norm * ||X||^2 added
    double& v = s[0];
    double& h = s[1];
    v = alpha * v + (1 - alpha) * g_reg;
    h = beta * h + (1 - beta) * g_reg * g_reg;
    const double x_new = x - r * v / (std::sqrt(h) + epsilon);
    return (1 - norm_post) * x_new;
  });
}

Tensors ref_Adagrad(const KernelContext& ctx) {
  const Attributes& a = ctx.attrs();
  const double decay = a.get_float("decay_factor", 0.0f);
  const double epsilon = a.get_float("epsilon", 1e-6f);
  const double norm = a.get_float("norm_coefficient", 0.0f);
  const Step step = read_step(ctx);
  const double r = step.r / (1 + static_cast<double>(step.t) * decay);
  return optimize(ctx, 1, [&](double x, double g, State& s) {
    const double g_reg = norm * x + g;
    double& h = s[0];
    h = h + g_reg * g_reg;
    return x - r * g_reg / (std::sqrt(h) + epsilon);
  });
}

Tensors ref_Momentum(const KernelContext& ctx) {
  const double alpha = required_float(ctx, "alpha");
  const double beta = required_float(ctx, "beta");
  const double norm = required_float(ctx, "norm_coefficient");
  ctx.require(ctx.attrs().has("mode"), "missing the required attribute 'mode'");
  const std::string mode = ctx.attrs().get_string("mode", "");
  ctx.require(mode == "standard" || mode == "nesterov", "mode must be 'standard' or 'nesterov', got '" + mode + "'");
  const bool nesterov = mode == "nesterov";
  const Step step = read_step(ctx);
  const double beta_adjusted = step.t > 0 ? beta : 1.0;  // the first step takes the whole gradient
  return optimize(ctx, 1, [&](double x, double g, State& s) {
    const double g_reg = norm * x + g;
    double& v = s[0];
    v = alpha * v + beta_adjusted * g_reg;
    return nesterov ? x - step.r * (g_reg + alpha * v) : x - step.r * v;
  });
}

}  // namespace nnc
