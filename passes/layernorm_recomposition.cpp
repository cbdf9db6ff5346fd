#include "passes/layernorm_recomposition.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "passes/pattern.h"

namespace nnc {
namespace {

// The first opset with LayerNormalization.
constexpr int64_t kLayerNormOpset = 17;

// The axes a ReduceMean reduces: its attribute (up to opset 17) or constant second input
// (opset 18); nullopt when neither holds them.
std::optional<std::vector<int64_t>> reduce_axes(const Node* mean) {
  if (mean->attrs.has("axes")) return mean->attrs.get_ints("axes");
  const Tensor* t = constant_of(mean->input(1));
  if (!t || !is_integer(t->dtype())) return std::nullopt;
  return t->to_int64s();
}

// k when `mean` averages v over its last k axes (of `rank`, in any order and sign) with
// keepdims, and v is its input; else 0.
size_t trailing_mean_axes(const Node* mean, const Value* v, size_t rank) {
  if (mean->input(0) != v || mean->attrs.get_int("keepdims", 1) != 1) return 0;
  auto axes = reduce_axes(mean);
  if (!axes || axes->empty() || axes->size() > rank) return 0;
  auto r = static_cast<int64_t>(rank);
  for (int64_t& a : *axes) {
    if (a < -r || a >= r) return 0;
    if (a < 0) a += r;
  }
  std::sort(axes->begin(), axes->end());
  int64_t first = r - static_cast<int64_t>(axes->size());
  for (size_t i = 0; i < axes->size(); ++i)
    if ((*axes)[i] != first + static_cast<int64_t>(i)) return 0;
  return axes->size();
}

// The normalisation y = (x - mean) / sqrt(var + eps), normalised over x's last `axes` axes.
struct Normalization {
  Value* x = nullptr;
  Value* y = nullptr;
  size_t axes = 0;
  double epsilon = 0;
};

// Matches div = Div(d, Sqrt(Add(ReduceMean(Pow(d, 2)), eps))) with d = Sub(x, ReduceMean(x)).
// d feeds both the Pow and the Div; every other intermediate is used once.
std::optional<Normalization> match_normalization(const Graph& g, Node* div) {
  if (div->inputs.size() != 2 || div->outputs.size() != 1) return std::nullopt;
  Value* d = div->inputs[0];
  Value* s = div->inputs[1];
  Node* sqrt = producer_of(s, OpKind::Sqrt);
  if (!sqrt || !has_single_use(g, s)) return std::nullopt;
  Value* e = sqrt->input(0);
  Node* add = producer_of(e, OpKind::Add);
  if (!add || !has_single_use(g, e)) return std::nullopt;
  auto eps_var = match_either(add, [](Value* v) { return scalar_constant(v).has_value(); });
  if (!eps_var) return std::nullopt;
  Value* var = eps_var->second;
  Node* var_mean = producer_of(var, OpKind::ReduceMean);
  if (!var_mean || !has_single_use(g, var)) return std::nullopt;
  Value* sq = var_mean->input(0);
  Node* pow = producer_of(sq, OpKind::Pow);
  if (!pow || !has_single_use(g, sq) || pow->input(0) != d || !is_scalar_constant(pow->input(1), 2.0))
    return std::nullopt;
  Node* sub = producer_of(d, OpKind::Sub);
  if (!sub || g.is_output(d) || d->users.size() != 2) return std::nullopt;  // the Pow and the Div
  Value* x = sub->input(0);
  Value* m = sub->input(1);
  Node* mean = producer_of(m, OpKind::ReduceMean);
  if (!x || !x->dims || !mean || !has_single_use(g, m)) return std::nullopt;
  size_t rank = x->dims->size();
  size_t axes = trailing_mean_axes(mean, x, rank);
  if (axes == 0 || trailing_mean_axes(var_mean, sq, rank) != axes) return std::nullopt;
  // A one-element eps of higher rank would broadcast the result beyond x's rank.
  if (constant_of(eps_var->first)->rank() > static_cast<int>(rank)) return std::nullopt;
  return Normalization{x, div->outputs[0], axes, *scalar_constant(eps_var->first)};
}

// The normalised dims (x's last `axes`), when all are static.
std::optional<Shape> normalized_shape(const Value* x, size_t axes) {
  Shape s;
  for (size_t i = x->dims->size() - axes; i < x->dims->size(); ++i) {
    if (!(*x->dims)[i].is_static()) return std::nullopt;
    s.push_back((*x->dims)[i].value);
  }
  return s;
}

Shape without_leading_ones(const Shape& s) {
  auto it = std::find_if(s.begin(), s.end(), [](int64_t d) { return d != 1; });
  return Shape(it, s.end());
}

// A Scale or B operand: a constant of x's dtype that spans only the normalised dims, so
// the Mul or Add applying it neither broadcasts over other axes nor raises the rank.
bool is_affine_param(const Tensor* t, DType dtype, const Shape& norm, size_t rank) {
  return t && t->dtype() == dtype && static_cast<size_t>(t->rank()) <= rank &&
         without_leading_ones(t->shape()) == without_leading_ones(norm);
}

// An affine step after y: the `op` (Mul for Scale, Add for B) that alone uses y, with its
// constant operand and its output.
struct Affine {
  Value* param = nullptr;
  Value* out = nullptr;
};

std::optional<Affine> affine_after(const Graph& g, Value* y, OpKind op, const Normalization& n,
                                   const Shape& norm) {
  if (!has_single_use(g, y)) return std::nullopt;
  Node* user = y->users[0];
  if (user->removed || user->op != op || user->outputs.size() != 1) return std::nullopt;
  auto m = match_either(user, [y](Value* v) { return v == y; });
  if (!m || !is_affine_param(constant_of(m->second), n.x->dtype, norm, n.x->dims->size())) return std::nullopt;
  return Affine{m->second, user->outputs[0]};
}

// The Scale or B input for LayerNormalization: `param` itself when shaped exactly like the
// normalised dims, else a reshaped copy.
Value* as_normalized_shape(Graph& g, Value* param, const Shape& norm) {
  const Tensor* t = constant_of(param);
  return t->shape() == norm ? param : add_constant(g, param->name, t->reshaped(norm));
}

Value* ones(Graph& g, DType dtype, const Shape& norm) {
  Tensor t(dtype, norm);
  for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, 1.0);
  return add_constant(g, "layernorm_scale", std::move(t));
}

bool recompose_at(Graph& g, Node* div) {
  auto n = match_normalization(g, div);
  if (!n || (n->x->dtype != DType::Float32 && n->x->dtype != DType::Float64)) return false;
  auto norm = normalized_shape(n->x, n->axes);
  if (!norm) return false;
  Value* result = n->y;
  Value* scale = nullptr;
  Value* bias = nullptr;
  if (auto mul = affine_after(g, result, OpKind::Mul, *n, *norm)) {
    scale = as_normalized_shape(g, mul->param, *norm);
    result = mul->out;
  }
  if (auto add = affine_after(g, result, OpKind::Add, *n, *norm)) {
    bias = as_normalized_shape(g, add->param, *norm);
    result = add->out;
  }
  if (!scale) scale = ones(g, n->x->dtype, *norm);
  std::vector<Value*> inputs = {n->x, scale};
  if (bias) inputs.push_back(bias);
  Attributes attrs;
  attrs.set("axis", -static_cast<int64_t>(n->axes));
  attrs.set("epsilon", static_cast<float>(n->epsilon));
  replace_result(g, result, OpKind::LayerNormalization, inputs, std::move(attrs));
  return true;
}

}  // namespace

bool recompose_layernorm(Graph& g, const PassOptions&) {
  if (g.opset < kLayerNormOpset) return false;
  bool changed = false;
  for (Node* n : g.topological_order())
    if (!n->removed && n->op == OpKind::Div) changed |= recompose_at(g, n);
  return changed;
}

}  // namespace nnc
