// Lowerings of RNN, GRU and LSTM, following runtime/ref/recurrent.cpp: in double, gates in
// the ONNX order (GRU z, r, h; LSTM i, o, f, c), either layout, forward / reverse /
// bidirectional, sequence_lens read at run time (steps past a batch entry's length leave its
// state alone and are zero in Y). The time loop is unrolled: each step's gate products and
// state are a stage of their own, so sequences longer than kMaxSteps stay on the reference
// kernel.
#include "codegen/cpu/lowerings.h"
#include "runtime/ref/recurrent_spec.h"

namespace nnc::cpu {
namespace {

constexpr int64_t kMaxSteps = 64;

using Halide::select;

Expr activate(const RecurrentActivation& a, Expr x) {
  Expr alpha = Expr(a.alpha), beta = Expr(a.beta), zero = Expr(0.0), one = Expr(1.0);
  switch (a.kind) {
    case ActKind::Relu: return Halide::max(x, zero);
    case ActKind::Tanh: return Halide::tanh(x);
    case ActKind::Sigmoid: return one / (one + Halide::exp(-x));
    case ActKind::Affine: return alpha * x + beta;
    case ActKind::LeakyRelu: return select(x >= zero, x, alpha * x);
    case ActKind::ThresholdedRelu: return select(x > alpha, x, zero);
    case ActKind::ScaledTanh: return alpha * Halide::tanh(beta * x);
    case ActKind::HardSigmoid: return Halide::clamp(alpha * x + beta, zero, one);
    case ActKind::Elu: return select(x >= zero, x, alpha * (Halide::exp(x) - one));
    case ActKind::Softsign: return x / (one + Halide::abs(x));
    case ActKind::Softplus: return select(x > Expr(30.0), x, Halide::log(one + Halide::exp(x)));
  }
  return x;
}

enum class Kind { Rnn, Gru, Lstm };

// A Func of (j, n) computed once per step.
Func stage(const std::string& name, const std::function<Expr(Var j, Var n)>& body) {
  Var j("j"), n("n");
  Func f(func_name(name));
  f(j, n) = body(j, n);
  f.compute_root();
  return f;
}

std::vector<TensorFunc> lower_recurrent(LowerContext& ctx, Kind kind) {
  const TensorFunc &X = ctx.in(0), &W = ctx.in(1), &R = ctx.in(2);
  ctx.require(is_float(X.dtype) && X.rank() == 3 && W.rank() == 3 && R.rank() == 3, "X, W and R must be 3-D float");
  halide_type(X.dtype);
  const int64_t layout = ctx.attrs().get_int("layout", 0);
  ctx.require(layout == 0 || layout == 1, "layout must be 0 or 1");
  const std::string direction = ctx.attrs().get_string("direction", "forward");
  ctx.require(direction == "forward" || direction == "reverse" || direction == "bidirectional", "unknown direction");
  const int64_t D = direction == "bidirectional" ? 2 : 1;
  const int64_t S = X.shape[layout == 0 ? 0 : 1], N = X.shape[layout == 0 ? 1 : 0], I = X.shape[2];
  const int64_t H = R.shape[2], G = kind == Kind::Rnn ? 1 : kind == Kind::Gru ? 3 : 4;
  ctx.require(ctx.attrs().get_int("hidden_size", H) == H, "hidden_size does not match R");
  ctx.require(W.shape == Shape{D, G * H, I} && R.shape == Shape{D, G * H, H}, "W or R has the wrong shape");
  ctx.require(S <= kMaxSteps, "sequences longer than 64 steps run on the reference kernel");
  const Shape state_shape = layout == 0 ? Shape{D, N, H} : Shape{N, D, H};
  auto optional = [&](size_t i, const Shape& want) -> const TensorFunc* {
    if (!ctx.has_input(i)) return nullptr;
    ctx.require(ctx.in(i).shape == want, "input " + std::to_string(i) + " has the wrong shape");
    return &ctx.in(i);
  };
  const TensorFunc* B = optional(3, {D, 2 * G * H});
  const TensorFunc* lens = optional(4, {N});
  const TensorFunc* h0 = optional(5, state_shape);
  const TensorFunc* c0 = kind == Kind::Lstm ? optional(6, state_shape) : nullptr;
  const TensorFunc* P = kind == Kind::Lstm ? optional(7, {D, 3 * H}) : nullptr;
  const bool has_clip = ctx.attrs().has("clip");
  const Expr clip = Expr(static_cast<double>(ctx.attrs().get_float("clip", 0.0f)));
  const bool linear_before_reset = ctx.attrs().get_int("linear_before_reset", 0) != 0;
  const bool input_forget = ctx.attrs().get_int("input_forget", 0) != 0;
  std::vector<std::string> defaults = kind == Kind::Rnn   ? std::vector<std::string>{"Tanh"}
                                      : kind == Kind::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                          : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  std::vector<RecurrentActivation> acts;
  try {
    acts = recurrent_activations(ctx.attrs(), defaults, D);
  } catch (const Error& e) {
    ctx.unsupported(e.what());
  }
  auto clipped = [&](Expr x) { return has_clip ? Halide::clamp(x, -clip, clip) : x; };
  auto state_index = [&](int64_t d, Expr n, Expr j) { return layout == 0 ? Exprs{i32(d), n, j} : Exprs{n, i32(d), j}; };
  auto len_of = [&](Expr n) { return lens ? Halide::cast<int>(lens->at({n})) : i32(S); };

  // hs[d][s], cs[d][s]: the state after s steps of direction d.
  std::vector<std::vector<Func>> hs(D), cs(D);
  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = direction == "reverse" || d == 1;
    const RecurrentActivation* act = acts.data() + d * defaults.size();
    auto initial = [&](const TensorFunc* t, const char* what) {
      return stage(ctx.node.name + what, [&](Var j, Var n) { return t ? as_double(t->at(state_index(d, n, j))) : Expr(0.0); });
    };
    hs[d].push_back(initial(h0, "_h0"));
    cs[d].push_back(initial(c0, "_c0"));
    for (int64_t s = 0; s < S; ++s) {
      Func h = hs[d].back(), c = cs[d].back();
      // The time index this step reads: s, or counted back from the entry's length.
      auto time_of = [&](Expr n) { return reverse ? Halide::clamp(len_of(n) - 1 - i32(s), 0, i32(S - 1)) : i32(s); };
      auto bias = [&](int64_t offset, Expr row) { return B ? as_double(B->at({i32(d), row + i32(offset)})) : Expr(0.0); };
      Func xw = stage(ctx.node.name + "_xw", [&](Var j, Var n) {
        Halide::RDom k(0, i32(I));
        Expr t = time_of(n);
        Exprs xi = layout == 0 ? Exprs{t, n, k} : Exprs{n, t, k};
        return bias(0, j) + Halide::sum(as_double(W.at({i32(d), j, k})) * as_double(X.at(xi)));
      });
      Func hr = stage(ctx.node.name + "_hr", [&](Var j, Var n) {
        Halide::RDom k(0, i32(H));
        return bias(G * H, j) + Halide::sum(as_double(R.at({i32(d), j, k})) * h(k, n));
      });
      auto pre = [&](int gate, Expr j, Expr n) { return xw(j + i32(gate * H), n) + hr(j + i32(gate * H), n); };
      Func h_new, c_new = c;
      if (kind == Kind::Rnn) {
        h_new = stage(ctx.node.name + "_h", [&](Var j, Var n) { return activate(act[0], clipped(pre(0, j, n))); });
      } else if (kind == Kind::Gru) {
        Func z = stage(ctx.node.name + "_z", [&](Var j, Var n) { return activate(act[0], clipped(pre(0, j, n))); });
        Func r = stage(ctx.node.name + "_r", [&](Var j, Var n) { return activate(act[0], clipped(pre(1, j, n))); });
        Func rec = linear_before_reset
                       ? stage(ctx.node.name + "_rec", [&](Var j, Var n) { return r(j, n) * hr(j + i32(2 * H), n); })
                       : stage(ctx.node.name + "_rec", [&](Var j, Var n) {
                           Halide::RDom k(0, i32(H));
                           return bias(G * H + 2 * H, j) +
                                  Halide::sum(as_double(R.at({i32(d), j + i32(2 * H), k})) * (r(k, n) * h(k, n)));
                         });
        h_new = stage(ctx.node.name + "_h", [&](Var j, Var n) {
          Expr cand = activate(act[1], clipped(xw(j + i32(2 * H), n) + rec(j, n)));
          return (1 - z(j, n)) * cand + z(j, n) * h(j, n);
        });
      } else {
        auto peep = [&](int which, Expr j) { return P ? as_double(P->at({i32(d), j + i32(which * H)})) : Expr(0.0); };
        Func i_gate = stage(ctx.node.name + "_i", [&](Var j, Var n) {
          return activate(act[0], clipped(pre(0, j, n) + peep(0, j) * c(j, n)));
        });
        c_new = stage(ctx.node.name + "_c", [&](Var j, Var n) {
          Expr f_gate = input_forget ? 1 - i_gate(j, n) : activate(act[0], clipped(pre(2, j, n) + peep(2, j) * c(j, n)));
          Expr cand = activate(act[1], clipped(pre(3, j, n)));
          return f_gate * c(j, n) + i_gate(j, n) * cand;
        });
        h_new = stage(ctx.node.name + "_h", [&](Var j, Var n) {
          Expr o_gate = activate(act[0], clipped(pre(1, j, n) + peep(1, j) * c_new(j, n)));
          return o_gate * activate(act[2], c_new(j, n));
        });
      }
      // Entries whose sequence has ended keep their state.
      auto masked = [&](Func next, Func prev, const char* what) {
        return stage(ctx.node.name + what, [&](Var j, Var n) { return select(i32(s) < len_of(n), next(j, n), prev(j, n)); });
      };
      hs[d].push_back(lens ? masked(h_new, h, "_hm") : h_new);
      cs[d].push_back(lens && kind == Kind::Lstm ? masked(c_new, c, "_cm") : c_new);
    }
  }
  // Y at time t holds the state after the step that read t.
  Shape y_shape = layout == 0 ? Shape{S, D, N, H} : Shape{N, S, D, H};
  std::vector<TensorFunc> outs{define_output(ctx, 0, y_shape, [&](const Exprs& i) {
    Expr t = layout == 0 ? i[0] : i[1], d = layout == 0 ? i[1] : i[2], n = layout == 0 ? i[2] : i[0], j = i[3];
    Expr value = Expr(0.0);
    for (int64_t dd = D - 1; dd >= 0; --dd) {
      bool reverse = direction == "reverse" || dd == 1;
      Expr step = reverse ? len_of(n) - 1 - t : t;  // steps taken before this one
      Expr v = Expr(0.0);
      for (int64_t s = S - 1; s >= 0; --s) v = select(step == i32(s), hs[dd][s + 1](j, n), v);
      value = select(d == i32(dd), v, value);
    }
    return select(t < len_of(n), value, Expr(0.0));
  })};
  auto final_state = [&](const std::vector<std::vector<Func>>& st, size_t k) {
    return define_output(ctx, k, state_shape, [&](const Exprs& i) {
      Expr d = layout == 0 ? i[0] : i[1], n = layout == 0 ? i[1] : i[0];
      Expr v = st[D - 1][S](i[2], n);
      for (int64_t dd = D - 2; dd >= 0; --dd) v = select(d == i32(dd), st[dd][S](i[2], n), v);
      return v;
    });
  };
  if (ctx.num_outputs() > 1) outs.push_back(final_state(hs, 1));
  if (ctx.num_outputs() > 2) outs.push_back(final_state(cs, 2));
  return outs;
}

}  // namespace

std::vector<TensorFunc> lower_RNN(LowerContext& ctx) { return lower_recurrent(ctx, Kind::Rnn); }
std::vector<TensorFunc> lower_GRU(LowerContext& ctx) { return lower_recurrent(ctx, Kind::Gru); }
std::vector<TensorFunc> lower_LSTM(LowerContext& ctx) { return lower_recurrent(ctx, Kind::Lstm); }

}  // namespace nnc::cpu
