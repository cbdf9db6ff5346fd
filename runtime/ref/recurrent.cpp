#include "runtime/ref/kernels.h"
#include "runtime/ref/recurrent_spec.h"

// Reference kernels of the recurrent ops RNN, GRU and LSTM. They share one skeleton
// (read and check the inputs, loop over directions, batch entries and time steps, write
// Y / Y_h / Y_c in either layout) and differ only in the cell that advances the state by
// one step. Everything is computed in double and stored in X's element type.
//
// Layout 0: X [seq, batch, input], Y [seq, dirs, batch, hidden], Y_h/Y_c/initial_h/
// initial_c [dirs, batch, hidden]. Layout 1: X [batch, seq, input], Y [batch, seq, dirs,
// hidden], states [batch, dirs, hidden]. Steps past a batch entry's sequence_lens are
// zero in Y, and Y_h / Y_c hold the state after its last valid step.

#include <algorithm>
#include <cmath>

namespace nnc {

namespace {

// ---- activations ----

double apply(const RecurrentActivation& act, double x) {
  switch (act.kind) {
    case ActKind::Relu: return std::max(x, 0.0);
    case ActKind::Tanh: return std::tanh(x);
    case ActKind::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case ActKind::Affine: return act.alpha * x + act.beta;
    case ActKind::LeakyRelu: return x >= 0 ? x : act.alpha * x;
    case ActKind::ThresholdedRelu: return x > act.alpha ? x : 0.0;
    case ActKind::ScaledTanh: return act.alpha * std::tanh(act.beta * x);
    case ActKind::HardSigmoid: return std::clamp(act.alpha * x + act.beta, 0.0, 1.0);
    case ActKind::Elu: return x >= 0 ? x : act.alpha * (std::exp(x) - 1.0);
    case ActKind::Softsign: return x / (1.0 + std::fabs(x));
    case ActKind::Softplus: return x > 30 ? x : std::log1p(std::exp(x));  // avoids exp overflow
  }
  return x;
}

struct Activation {
  RecurrentActivation act;
  double operator()(double x) const { return apply(act, x); }
};

// ---- the cells: one time step of one batch entry in one direction ----

// What a cell sees: the hidden size, the gate pre-activations split into their input part
// xw = W x + Wb and recurrent part hr = R h + Rb (num_gates * hidden each, in the op's
// gate order), and this direction's weights for cells that need more than that.
struct CellInput {
  int64_t hidden;
  const std::vector<double>& xw;
  const std::vector<double>& hr;
  const double* R;   // [gates*hidden, hidden]
  const double* Rb;  // [gates*hidden]
  const double* P;   // LSTM peepholes [3*hidden] (i, o, f), or nullptr
};

struct CellConfig {
  const Activation* act;  // this direction's activations f, g, h
  bool has_clip = false;
  double clip = 0;
  bool linear_before_reset = false;  // GRU
  bool input_forget = false;         // LSTM
  double clipped(double x) const { return has_clip ? std::clamp(x, -clip, clip) : x; }
};

// A cell updates the hidden state h (and the LSTM cell state c) in place.
using Cell = void (*)(const CellConfig&, const CellInput&, std::vector<double>& h, std::vector<double>& c);

// RNN: h = f(Wx + Rh + Wb + Rb).
void rnn_cell(const CellConfig& cfg, const CellInput& in, std::vector<double>& h, std::vector<double>&) {
  for (int64_t j = 0; j < in.hidden; ++j) h[j] = cfg.act[0](cfg.clipped(in.xw[j] + in.hr[j]));
}

// GRU, gates z, r, h: the candidate uses the reset gate on the state before (default) or
// after (linear_before_reset) the recurrent matrix product.
void gru_cell(const CellConfig& cfg, const CellInput& in, std::vector<double>& h, std::vector<double>&) {
  const int64_t H = in.hidden;
  const Activation &f = cfg.act[0], &g = cfg.act[1];
  std::vector<double> z(H), r(H), rh(H), cand(H);
  for (int64_t j = 0; j < H; ++j) {
    z[j] = f(cfg.clipped(in.xw[j] + in.hr[j]));
    r[j] = f(cfg.clipped(in.xw[H + j] + in.hr[H + j]));
    rh[j] = r[j] * h[j];
  }
  for (int64_t j = 0; j < H; ++j) {
    double rec;
    if (cfg.linear_before_reset) {
      rec = r[j] * in.hr[2 * H + j];
    } else {
      const double* row = in.R + (2 * H + j) * H;
      rec = in.Rb[2 * H + j];
      for (int64_t k = 0; k < H; ++k) rec += row[k] * rh[k];
    }
    cand[j] = g(cfg.clipped(in.xw[2 * H + j] + rec));
  }
  for (int64_t j = 0; j < H; ++j) h[j] = (1 - z[j]) * cand[j] + z[j] * h[j];
}

// LSTM, gates i, o, f, c with optional peepholes (i and f look at the old cell state, o
// at the new one); input_forget couples the forget gate to 1 - i.
void lstm_cell(const CellConfig& cfg, const CellInput& in, std::vector<double>& h, std::vector<double>& c) {
  const int64_t H = in.hidden;
  const Activation &f = cfg.act[0], &g = cfg.act[1], &hact = cfg.act[2];
  auto pre = [&](int gate, int64_t j) { return in.xw[gate * H + j] + in.hr[gate * H + j]; };
  auto peep = [&](int which, int64_t j) { return in.P ? in.P[which * H + j] : 0.0; };
  for (int64_t j = 0; j < H; ++j) {
    double i_gate = f(cfg.clipped(pre(0, j) + peep(0, j) * c[j]));
    double f_gate = cfg.input_forget ? 1.0 - i_gate : f(cfg.clipped(pre(2, j) + peep(2, j) * c[j]));
    double cand = g(cfg.clipped(pre(3, j)));
    c[j] = f_gate * c[j] + i_gate * cand;
    double o_gate = f(cfg.clipped(pre(1, j) + peep(1, j) * c[j]));
    h[j] = o_gate * hact(c[j]);
  }
}

// ---- the shared skeleton ----

struct OpSpec {
  int64_t num_gates;
  std::vector<std::string> default_activations;
  Cell cell;
  bool is_lstm;
};

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.at_double(i);
  return v;
}

// out[j] = bias[j] + sum_k M[j, k] * v[k] for M [rows, cols] (bias may be nullptr).
void matvec(const double* M, const double* v, const double* bias, int64_t rows, int64_t cols, std::vector<double>& out) {
  for (int64_t j = 0; j < rows; ++j) {
    double s = bias ? bias[j] : 0.0;
    for (int64_t k = 0; k < cols; ++k) s += M[j * cols + k] * v[k];
    out[j] = s;
  }
}

void require_shape(const KernelContext& ctx, const Tensor& t, const Shape& want, const std::string& what) {
  ctx.require(t.shape() == want, what + " must have shape " + shape_str(want) + ", got " + shape_str(t.shape()));
}

// Inputs: X, W, R, B, sequence_lens, initial_h, and for LSTM initial_c, P.
Tensors run_recurrent(const KernelContext& ctx, const OpSpec& spec) {
  const Tensor& X = ctx.in(0);
  const Tensor& W = ctx.in(1);
  const Tensor& R = ctx.in(2);
  ctx.require(is_float(X.dtype()), std::string("X must be a float tensor, got ") + dtype_name(X.dtype()));
  ctx.require(X.rank() == 3 && W.rank() == 3 && R.rank() == 3, "X, W and R must be 3-D");
  const int64_t layout = ctx.attrs().get_int("layout", 0);
  ctx.require(layout == 0 || layout == 1, "layout must be 0 or 1");
  const std::string direction = ctx.attrs().get_string("direction", "forward");
  ctx.require(direction == "forward" || direction == "reverse" || direction == "bidirectional",
              "unknown direction '" + direction + "'");
  const int64_t D = direction == "bidirectional" ? 2 : 1;
  const int64_t S = X.dim(layout == 0 ? 0 : 1), N = X.dim(layout == 0 ? 1 : 0), I = X.dim(2);
  const int64_t H = ctx.attrs().get_int("hidden_size", R.dim(2));
  const int64_t G = spec.num_gates;
  ctx.require(H >= 0 && H == R.dim(2), "hidden_size " + std::to_string(H) + " does not match R " + shape_str(R.shape()));
  const int64_t GH = checked_mul(G, H, "gates * hidden_size");
  require_shape(ctx, W, {D, GH, I}, "W");
  require_shape(ctx, R, {D, GH, H}, "R");
  const Shape state_shape = layout == 0 ? Shape{D, N, H} : Shape{N, D, H};
  auto optional = [&](size_t i, const Shape& want, const std::string& what) -> const Tensor* {
    if (!ctx.has_input(i)) return nullptr;
    require_shape(ctx, ctx.in(i), want, what);
    return &ctx.in(i);
  };
  const Tensor* B = optional(3, {D, 2 * GH}, "B");
  const Tensor* lens_t = optional(4, {N}, "sequence_lens");
  const Tensor* h0 = optional(5, state_shape, "initial_h");
  const Tensor* c0 = spec.is_lstm ? optional(6, state_shape, "initial_c") : nullptr;
  const Tensor* P = spec.is_lstm ? optional(7, {D, 3 * H}, "P") : nullptr;

  std::vector<int64_t> lens(static_cast<size_t>(N), S);
  if (lens_t) lens = lens_t->to_int64s();
  for (int64_t len : lens) ctx.require(len >= 0 && len <= S, "sequence_lens value " + std::to_string(len) + " is outside [0, " + std::to_string(S) + "]");

  CellConfig cfg;
  cfg.has_clip = ctx.attrs().has("clip");
  cfg.clip = ctx.attrs().get_float("clip", 0.0f);
  ctx.require(!cfg.has_clip || cfg.clip >= 0, "clip must be non-negative");
  cfg.linear_before_reset = ctx.attrs().get_int("linear_before_reset", 0) != 0;
  cfg.input_forget = ctx.attrs().get_int("input_forget", 0) != 0;
  std::vector<Activation> acts;
  try {
    for (const RecurrentActivation& a : recurrent_activations(ctx.attrs(), spec.default_activations, D)) acts.push_back({a});
  } catch (const Error& e) {
    ctx.fail(e.what());
  }

  const std::vector<double> x = as_doubles(X), w = as_doubles(W), r = as_doubles(R);
  const std::vector<double> b = B ? as_doubles(*B) : std::vector<double>(static_cast<size_t>(D * 2 * GH), 0.0);
  const std::vector<double> p = P ? as_doubles(*P) : std::vector<double>();
  const std::vector<double> h_init = h0 ? as_doubles(*h0) : std::vector<double>();
  const std::vector<double> c_init = c0 ? as_doubles(*c0) : std::vector<double>();

  Tensor Y(X.dtype(), layout == 0 ? Shape{S, D, N, H} : Shape{N, S, D, H});  // zero-filled
  Tensor Y_h(X.dtype(), state_shape), Y_c(X.dtype(), state_shape);
  auto x_at = [&](int64_t t, int64_t n) { return x.data() + (layout == 0 ? t * N + n : n * S + t) * I; };
  auto y_at = [&](int64_t t, int64_t d, int64_t n) { return (layout == 0 ? (t * D + d) * N + n : (n * S + t) * D + d) * H; };
  auto state_at = [&](int64_t d, int64_t n) { return (layout == 0 ? d * N + n : n * D + d) * H; };

  std::vector<double> h(H), c(H), xw(GH), hr(GH);
  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = direction == "reverse" || d == 1;
    const double* Wd = w.data() + d * GH * I;
    const double* Rd = r.data() + d * GH * H;
    const double* Wb = b.data() + d * 2 * GH;
    const double* Rb = Wb + GH;
    cfg.act = acts.data() + d * spec.default_activations.size();
    CellInput in{H, xw, hr, Rd, Rb, P ? p.data() + d * 3 * H : nullptr};
    for (int64_t n = 0; n < N; ++n) {
      const int64_t s0 = state_at(d, n);
      for (int64_t j = 0; j < H; ++j) {
        h[j] = h0 ? h_init[s0 + j] : 0.0;
        c[j] = c0 ? c_init[s0 + j] : 0.0;
      }
      const int64_t len = lens[n];
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = reverse ? len - 1 - step : step;
        matvec(Wd, x_at(t, n), Wb, GH, I, xw);
        matvec(Rd, h.data(), Rb, GH, H, hr);
        spec.cell(cfg, in, h, c);
        for (int64_t j = 0; j < H; ++j) Y.set_double(y_at(t, d, n) + j, h[j]);
      }
      for (int64_t j = 0; j < H; ++j) {
        Y_h.set_double(s0 + j, h[j]);
        Y_c.set_double(s0 + j, c[j]);
      }
    }
  }

  // Every output is cheap, so all are returned; the interpreter drops omitted ones.
  ctx.require(ctx.num_outputs() <= (spec.is_lstm ? 3u : 2u), "too many outputs");
  Tensors out;
  out.push_back(std::move(Y));
  out.push_back(std::move(Y_h));
  if (spec.is_lstm) out.push_back(std::move(Y_c));
  return out;
}

}  // namespace

Tensors ref_RNN(const KernelContext& ctx) { return run_recurrent(ctx, {1, {"Tanh"}, rnn_cell, false}); }
Tensors ref_GRU(const KernelContext& ctx) { return run_recurrent(ctx, {3, {"Sigmoid", "Tanh"}, gru_cell, false}); }
Tensors ref_LSTM(const KernelContext& ctx) { return run_recurrent(ctx, {4, {"Sigmoid", "Tanh", "Tanh"}, lstm_cell, true}); }

}  // namespace nnc
