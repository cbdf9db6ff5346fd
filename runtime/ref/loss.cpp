// Loss reference kernels: SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss (opsets 12-13).
// Both come down to one weighted gather over log-probabilities viewed as [N, C, D]:
//   loss[n][d] = -logp[n][label[n][d]][d] * w[label[n][d]]   (w = 1 without weights)
// where a label equal to ignore_index contributes neither loss nor weight. Reduction
// "mean" divides the summed loss by the summed weights of the counted elements, which is
// the plain mean when there are no weights and nothing is ignored.
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/ref/kernels.h"

namespace nnc {
namespace {

enum class Reduction { None, Sum, Mean };

Reduction parse_reduction(const KernelContext& ctx) {
  std::string r = ctx.attrs().get_string("reduction", "mean");
  if (r == "none") return Reduction::None;
  if (r == "sum") return Reduction::Sum;
  if (r == "mean") return Reduction::Mean;
  ctx.fail("reduction must be none, sum or mean, got '" + r + "'");
}

// Everything but the log-probabilities: the [N, C, D] view, checked labels and weights.
struct LossSetup {
  int64_t n = 0, c = 0, d = 1;
  Shape label_shape;
  std::vector<int64_t> labels;          // [N * D]
  std::vector<double> weights;          // [C], empty when not given
  std::optional<int64_t> ignore_index;  // only when the attribute is present
  Reduction reduction = Reduction::Mean;

  bool ignored(int64_t label) const { return ignore_index && label == *ignore_index; }
};

LossSetup loss_setup(const KernelContext& ctx, const std::string& xname) {
  const Tensor& x = ctx.in(0);
  const Tensor& labels = ctx.in(1);
  const Shape& xs = x.shape();
  ctx.require(x.rank() >= 2, xname + " must be [N, C] or [N, C, d1, ...], got " + shape_str(xs));
  LossSetup s;
  s.n = xs[0];
  s.c = xs[1];
  s.d = checked_numel(std::span<const int64_t>(xs).subspan(2), "shape " + shape_str(xs));
  s.label_shape = xs;
  s.label_shape.erase(s.label_shape.begin() + 1);
  ctx.require(labels.shape() == s.label_shape, "labels have shape " + shape_str(labels.shape()) + ", but " +
                                                   xname + " " + shape_str(xs) + " needs " +
                                                   shape_str(s.label_shape));
  ctx.require(is_integer(labels.dtype()),
              std::string("labels must be an integer tensor, got ") + dtype_name(labels.dtype()));
  s.labels = labels.to_int64s();
  if (ctx.has_input(2)) {
    const Tensor& w = ctx.in(2);
    ctx.require(w.shape() == Shape{s.c},
                "weights have shape " + shape_str(w.shape()) + ", expected [" + std::to_string(s.c) + "]");
    s.weights = visit_float(ctx, w, "weights", [&](auto tag) {
      using T = typename decltype(tag)::type;
      std::vector<double> v(static_cast<size_t>(s.c));
      for (size_t i = 0; i < v.size(); ++i) v[i] = to_double(w.data<T>()[i]);
      return v;
    });
  }
  if (ctx.attrs().has("ignore_index")) s.ignore_index = ctx.attrs().get_int("ignore_index", 0);
  s.reduction = parse_reduction(ctx);
  for (size_t i = 0; i < s.labels.size(); ++i) {
    int64_t l = s.labels[i];
    if (!s.ignored(l) && (l < 0 || l >= s.c))
      ctx.fail("label " + std::to_string(l) + " at flat index " + std::to_string(i) + " is outside [0, " +
               std::to_string(s.c) + ")" + (s.ignore_index ? " and is not ignore_index" : ""));
  }
  return s;
}

// The loss tensor of dtype `dtype` from logp(n, c, d), the log-probability of class c.
template <class LogProb>
Tensor weighted_nll(const LossSetup& s, DType dtype, LogProb logp) {
  std::vector<double> loss(s.labels.size(), 0.0);
  double loss_sum = 0, weight_sum = 0;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t d = 0; d < s.d; ++d) {
      size_t i = static_cast<size_t>(n * s.d + d);
      int64_t label = s.labels[i];
      if (s.ignored(label)) continue;
      double w = s.weights.empty() ? 1.0 : s.weights[static_cast<size_t>(label)];
      loss[i] = -logp(n, label, d) * w;
      loss_sum += loss[i];
      weight_sum += w;
    }
  Tensor out(dtype, s.reduction == Reduction::None ? s.label_shape : Shape{});
  if (s.reduction == Reduction::None) {
    for (size_t i = 0; i < loss.size(); ++i) out.set_double(static_cast<int64_t>(i), loss[i]);
  } else {
    // An empty or fully ignored batch gives 0/0 = NaN for mean, as the ONNX function does.
    out.set_double(0, s.reduction == Reduction::Sum ? loss_sum : loss_sum / weight_sum);
  }
  return out;
}

Tensors with_outputs(const KernelContext& ctx, Tensor loss) {
  Tensors out(ctx.num_outputs());
  ctx.require(!out.empty(), "the node has no outputs");
  out[0] = std::move(loss);
  return out;
}

}  // namespace

Tensors ref_NegativeLogLikelihoodLoss(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  LossSetup s = loss_setup(ctx, "input");
  Tensor loss = visit_float(ctx, x, "input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    return weighted_nll(s, x.dtype(), [&](int64_t n, int64_t c, int64_t d) {
      return to_double(px[(n * s.c + c) * s.d + d]);
    });
  });
  return with_outputs(ctx, std::move(loss));
}

Tensors ref_SoftmaxCrossEntropyLoss(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  LossSetup s = loss_setup(ctx, "scores");
  Tensors out(ctx.num_outputs());
  ctx.require(!out.empty() && out.size() <= 2, "expects 1 or 2 outputs, has " + std::to_string(out.size()));
  visit_float(ctx, x, "scores", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    auto at = [&](int64_t n, int64_t c, int64_t d) { return to_double(px[(n * s.c + c) * s.d + d]); };
    // Log-softmax over the class axis: logp = x - shift, shift = max + log(sum(exp(x - max))).
    std::vector<double> shift(s.labels.size());
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t d = 0; d < s.d; ++d) {
        double m = -std::numeric_limits<double>::infinity(), sum = 0;
        for (int64_t c = 0; c < s.c; ++c) m = std::max(m, at(n, c, d));
        for (int64_t c = 0; c < s.c; ++c) sum += std::exp(at(n, c, d) - m);
        shift[static_cast<size_t>(n * s.d + d)] = m + std::log(sum);
      }
    auto logp = [&](int64_t n, int64_t c, int64_t d) { return at(n, c, d) - shift[static_cast<size_t>(n * s.d + d)]; };
    out[0] = weighted_nll(s, x.dtype(), logp);
    if (out.size() > 1 && ctx.node.outputs[1] != nullptr) {
      Tensor log_prob(x.dtype(), x.shape());
      T* q = log_prob.data<T>();
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t c = 0; c < s.c; ++c)
          for (int64_t d = 0; d < s.d; ++d) q[(n * s.c + c) * s.d + d] = convert_scalar<T>(logp(n, c, d));
      out[1] = std::move(log_prob);
    }
    return 0;
  });
  return out;
}

}  // namespace nnc
