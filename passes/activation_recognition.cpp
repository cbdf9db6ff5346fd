#include "passes/activation_recognition.h"

#include <algorithm>
#include <vector>

#include "passes/pattern.h"

namespace nnc {
namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;     // scales GELU's erf argument
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // scales GeluTanh's tanh argument
constexpr double kGeluCubic = 0.044715;                  // GeluTanh's x^3 coefficient
constexpr int kMaxProductDepth = 8;                      // bounds the recursion on long Mul chains

void collect_factors(const Graph& g, Value* v, int depth, std::vector<Value*>& out) {
  Node* mul = producer_of(v, OpKind::Mul);
  if (!mul || depth > kMaxProductDepth || mul->inputs.size() != 2 || !mul->inputs[0] || !mul->inputs[1]) {
    out.push_back(v);
    return;
  }
  for (Value* in : mul->inputs) {
    if (producer_of(in, OpKind::Mul) && has_single_use(g, in)) collect_factors(g, in, depth + 1, out);
    else out.push_back(in);
  }
}

// The factors of the product v holds: the inputs of v's Mul, each input that is itself a
// Mul used only there expanded likewise, so every association order gives the same list.
// A value that no live Mul produces is its own single factor.
std::vector<Value*> mul_factors(const Graph& g, Value* v) {
  std::vector<Value*> out;
  collect_factors(g, v, 0, out);
  return out;
}

// Removes the first factor equal to the scalar constant c; false when there is none.
bool take_constant(std::vector<Value*>& factors, double c) {
  auto it = std::find_if(factors.begin(), factors.end(), [c](Value* v) { return is_scalar_constant(v, c); });
  if (it == factors.end()) return false;
  factors.erase(it);
  return true;
}

// The input of v's producer when that is a live `op` node and v is used only once.
Value* sole_input(const Graph& g, Value* v, OpKind op) {
  Node* n = producer_of(v, op);
  return n && has_single_use(g, v) ? n->input(0) : nullptr;
}

// w when v = Add(1, w) (either order) is used only once.
Value* one_plus(const Graph& g, Value* v) {
  Node* add = producer_of(v, OpKind::Add);
  if (!add || !has_single_use(g, v)) return nullptr;
  auto m = match_either(add, [](Value* k) { return is_scalar_constant(k, 1.0); });
  return m ? m->second : nullptr;
}

// v = x * c, written Mul(x, c) in either order or Div(x, 1/c), and used only once.
bool is_scaled(const Graph& g, Value* v, Value* x, double c) {
  if (!has_single_use(g, v)) return false;
  if (Node* mul = producer_of(v, OpKind::Mul)) {
    auto m = match_either(mul, [c](Value* k) { return is_scalar_constant(k, c); });
    return m && m->second == x;
  }
  Node* div = producer_of(v, OpKind::Div);
  return div && div->inputs.size() == 2 && div->inputs[0] == x && is_scalar_constant(div->inputs[1], 1.0 / c);
}

// v = c * x^p used only once, with x^p written Pow(x, p) or as p factors x.
bool is_scaled_power(const Graph& g, Value* v, Value* x, double c, int p) {
  if (!has_single_use(g, v)) return false;
  std::vector<Value*> f = mul_factors(g, v);
  if (!take_constant(f, c)) return false;
  if (static_cast<int>(f.size()) == p) return std::count(f.begin(), f.end(), x) == p;
  if (f.size() != 1) return false;
  Node* pow = producer_of(f[0], OpKind::Pow);
  return pow && has_single_use(g, f[0]) && pow->input(0) == x && is_scalar_constant(pow->input(1), p);
}

// GELU's erf argument: x / sqrt(2) (or x * 0.7071...).
bool is_erf_argument(const Graph& g, Value* a, Value* x) { return is_scaled(g, a, x, kInvSqrt2); }

// GeluTanh's tanh argument: sqrt(2/pi) * (x + 0.044715 * x^3), or in the factored form
// sqrt(2/pi) * x * (1 + 0.044715 * x^2) some implementations use.
bool is_tanh_argument(const Graph& g, Value* a, Value* x) {
  if (!has_single_use(g, a)) return false;
  std::vector<Value*> f = mul_factors(g, a);
  if (!take_constant(f, kSqrt2OverPi)) return false;
  if (f.size() == 1) {
    Node* add = producer_of(f[0], OpKind::Add);
    if (!add || !has_single_use(g, f[0])) return false;
    auto m = match_either(add, [&](Value* v) { return is_scaled_power(g, v, x, kGeluCubic, 3); });
    return m && m->second == x;
  }
  if (f.size() != 2) return false;
  for (int i = 0; i < 2; ++i) {
    Value* w = f[i] == x ? one_plus(g, f[1 - i]) : nullptr;
    if (w && is_scaled_power(g, w, x, kGeluCubic, 2)) return true;
  }
  return false;
}

// out = 0.5 * x * (1 + act(arg)) in any association order, with act's input accepted by
// is_arg(input, x): returns x, else nullptr.
template <class IsArg>
Value* match_half_x_one_plus(const Graph& g, Value* out, OpKind act, IsArg is_arg) {
  std::vector<Value*> f = mul_factors(g, out);
  if (f.size() != 3 || !take_constant(f, 0.5)) return nullptr;
  for (int i = 0; i < 2; ++i) {
    Value* x = f[i];
    Value* w = one_plus(g, f[1 - i]);
    Value* arg = w ? sole_input(g, w, act) : nullptr;
    if (arg && is_arg(g, arg, x)) return x;
  }
  return nullptr;
}

// x * Sigmoid(x) in either order: returns x, else nullptr.
Value* match_silu(const Graph& g, Node* mul) {
  auto m = match_either(mul, [&](Value* v) { return sole_input(g, v, OpKind::Sigmoid) != nullptr; });
  return m && m->first->producer->input(0) == m->second ? m->second : nullptr;
}

// A numel-1 constant of higher rank than x would broadcast the formula's result to more
// dimensions than the activation's.
bool same_rank(const Value* result, const Value* x) {
  return !result->dims || !x->dims || result->dims->size() == x->dims->size();
}

bool recognize_at(Graph& g, Node* mul) {
  Value* out = mul->outputs.empty() ? nullptr : mul->outputs[0];
  if (!out) return false;
  OpKind op = OpKind::Silu;
  Value* x = match_silu(g, mul);
  if (!x) {
    op = OpKind::Gelu;
    x = match_half_x_one_plus(g, out, OpKind::Erf, is_erf_argument);
  }
  if (!x) {
    op = OpKind::GeluTanh;
    x = match_half_x_one_plus(g, out, OpKind::Tanh, is_tanh_argument);
  }
  if (!x || !same_rank(out, x)) return false;
  replace_result(g, out, op, {x});
  return true;
}

}  // namespace

bool recognize_activations(Graph& g, const PassOptions&) {
  bool changed = false;
  for (Node* n : g.topological_order())
    if (!n->removed && n->op == OpKind::Mul) changed |= recognize_at(g, n);
  return changed;
}

}  // namespace nnc
