// Lowerings of NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, following
// runtime/ref/loss.cpp: input viewed as [N, C, d1, ...] with labels [N, d1, ...];
// loss = -logp[n][label][d...] * w[label] in double, ignored labels contributing neither
// loss nor weight; "mean" divides the summed loss by the summed weights of the counted
// labels. Sums run in double over the labels in row-major order, as in the reference.
// Labels are read at run time; one outside [0, C) that is not ignored is an error, as in
// the reference.
#include <cmath>
#include <optional>

#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

// Labels, weights, ignore_index and reduction, checked as the reference checks them.
struct LossSetup {
  const TensorFunc* x = nullptr;
  const TensorFunc* labels = nullptr;
  const TensorFunc* weights = nullptr;  // null when not given
  std::optional<int64_t> ignore_index;
  std::string reduction;
  int64_t classes = 0;

  // The x index of class c at label index l ([n, d1, ...]).
  Exprs x_index(const Exprs& l, Expr c) const {
    Exprs i = l;
    i.insert(i.begin() + 1, std::move(c));
    return i;
  }
  Expr label(const Exprs& l) const { return Halide::cast(Halide::Int(64), labels->at(l)); }
  Expr ignored(const Exprs& l) const {
    return ignore_index ? label(l) == Expr(*ignore_index) : Halide::Internal::const_false();
  }
  // A label outside [0, C) that is not ignored fails the kernel, as in the reference; the
  // clamp tells bounds inference that no load leaves the class axis.
  Expr class_of(const Exprs& l) const {
    Expr c = label(l);
    c = Halide::require(ignored(l) || (c >= Expr(int64_t{0}) && c < Expr(classes)), c, "label", c,
                        "is out of range for", Expr(classes), "classes");
    return Halide::cast(Halide::Int(32), Halide::clamp(c, Expr(int64_t{0}), Expr(classes - 1)));
  }
  Expr weight(const Exprs& l) const {
    return weights ? as_double(weights->at({class_of(l)})) : Expr(1.0);
  }
};

LossSetup loss_setup(const LowerContext& ctx) {
  LossSetup s;
  s.x = &ctx.in(0);
  s.labels = &ctx.in(1);
  const TensorFunc &x = *s.x, &labels = *s.labels;
  ctx.require(is_float(x.dtype), "input must be a float tensor");
  halide_type(x.dtype);  // NotLowerable for float16 and bfloat16
  ctx.require(x.rank() >= 2, "input must be [N, C] or [N, C, d1, ...]");
  s.classes = x.shape[1];
  ctx.require(s.classes > 0, "no classes");
  Shape label_shape = x.shape;
  label_shape.erase(label_shape.begin() + 1);
  ctx.require(labels.shape == label_shape, "labels shape does not match the input");
  ctx.require(is_integer(labels.dtype), "labels must be integers");
  if (ctx.has_input(2)) {
    s.weights = &ctx.in(2);
    ctx.require(s.weights->shape == Shape{s.classes} && is_float(s.weights->dtype), "weights must be float [C]");
    halide_type(s.weights->dtype);
  }
  if (ctx.attrs().has("ignore_index")) s.ignore_index = ctx.attrs().get_int("ignore_index", 0);
  s.reduction = ctx.attrs().get_string("reduction", "mean");
  ctx.require(s.reduction == "none" || s.reduction == "sum" || s.reduction == "mean", "unknown reduction");
  return s;
}

// Output 0 from the log-probability of class c at label index l.
TensorFunc weighted_nll(LowerContext& ctx, const LossSetup& s, const std::function<Expr(const Exprs&, Expr)>& logp) {
  const Shape& label_shape = s.labels->shape;
  const DType dt = ctx.out_dtype(0);
  auto loss = [&](const Exprs& l) {
    return Halide::select(s.ignored(l), Expr(0.0), -logp(l, s.class_of(l)) * s.weight(l));
  };
  if (s.reduction == "none")
    return define_output(ctx, 0, label_shape, [&](const Exprs& l) { return from_double(dt, loss(l)); });
  std::vector<bool> all(label_shape.size(), true);
  TensorFunc loss_sum = reduce_groups(ctx.node.name + "_loss_sum", label_shape, all, DType::Float64, Expr(0.0),
                                      [&](Expr acc, const Exprs& l) { return acc + loss(l); });
  std::optional<TensorFunc> weight_sum;
  // Without weights or ignored labels the divisor is the label count (a reduction whose body
  // does not read the labels would not loop over them).
  double count = static_cast<double>(numel_of(label_shape));
  bool counted = !s.weights && !s.ignore_index;
  if (s.reduction == "mean" && !counted)
    weight_sum = reduce_groups(ctx.node.name + "_weight_sum", label_shape, all, DType::Float64, Expr(0.0),
                               [&](Expr acc, const Exprs& l) {
                                 return acc + Halide::select(s.ignored(l), Expr(0.0), s.weight(l));
                               });
  // An empty or fully ignored batch gives 0 / 0 = NaN for mean, as in the reference.
  return define_output(ctx, 0, {}, [&](const Exprs&) {
    Exprs zero(label_shape.size(), i32(0));
    Expr total = loss_sum.at(zero);
    if (s.reduction == "mean") total = total / (counted ? Expr(count) : weight_sum->at(zero));
    return from_double(dt, total);
  });
}

}  // namespace

std::vector<TensorFunc> lower_NegativeLogLikelihoodLoss(LowerContext& ctx) {
  LossSetup s = loss_setup(ctx);
  ctx.require(ctx.num_outputs() == 1, "expects one output");
  return {weighted_nll(ctx, s, [&](const Exprs& l, Expr c) { return as_double(s.x->at(s.x_index(l, c))); })};
}

// log_softmax over the class axis: logp = x - shift, shift = max + log(sum(exp(x - max))),
// the max and the sum taken over the classes in order as the reference takes them.
std::vector<TensorFunc> lower_SoftmaxCrossEntropyLoss(LowerContext& ctx) {
  LossSetup s = loss_setup(ctx);
  ctx.require(ctx.num_outputs() <= 2, "expects one or two outputs");
  const TensorFunc& x = *s.x;
  std::vector<bool> classes(x.shape.size(), false);
  classes[1] = true;
  TensorFunc row_max = reduce_groups(ctx.node.name + "_max", x.shape, classes, DType::Float64, Expr(-INFINITY),
                                     [&](Expr acc, const Exprs& e) {
                                       Expr v = as_double(x.at(e));
                                       return Halide::select(acc < v, v, acc);  // std::max(acc, v)
                                     });
  TensorFunc shift = reduce_groups(
      ctx.node.name + "_shift", x.shape, classes, DType::Float64, Expr(0.0),
      [&](Expr acc, const Exprs& e) { return acc + Halide::exp(as_double(x.at(e)) - row_max.at(group_index(classes, e))); },
      [&](Expr acc, const Exprs& g) { return row_max.at(g) + Halide::log(acc); });
  auto logp_at = [&](const Exprs& i) { return as_double(x.at(i)) - shift.at(group_index(classes, i)); };
  std::vector<TensorFunc> outs{
      weighted_nll(ctx, s, [&](const Exprs& l, Expr c) { return logp_at(s.x_index(l, std::move(c))); })};
  if (ctx.num_outputs() == 2) {
    DType dt = ctx.out_dtype(1);
    outs.push_back(define_output(ctx, 1, x.shape, [&](const Exprs& i) { return from_double(dt, logp_at(i)); }));
  }
  return outs;
}

}  // namespace nnc::cpu
