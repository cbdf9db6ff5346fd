// Normalisation and softmax-family reference kernels: BatchNormalization (inference and
// training), LayerNormalization, InstanceNormalization, LRN, Softmax, LogSoftmax, Hardmax.
// Each kernel reads its input in the storage type, computes in double and rounds once
// when writing back, so float16/bfloat16 results are as close as the type allows.
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "runtime/ref/kernels.h"

namespace nnc {
namespace {

// The values of a (small) float tensor such as scale or bias, as doubles.
std::vector<double> load_floats(const KernelContext& ctx, const Tensor& t, const std::string& what) {
  return visit_float(ctx, t, what, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    std::vector<double> v(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < v.size(); ++i) v[i] = to_double(p[i]);
    return v;
  });
}

// A float tensor of the given dtype holding `v`.
Tensor store_floats(const KernelContext& ctx, DType dtype, const Shape& shape, const std::vector<double>& v) {
  Tensor out(dtype, shape);
  visit_float(ctx, out, "output", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = convert_scalar<T>(v[static_cast<size_t>(i)]);
    return 0;
  });
  return out;
}

// The product of dims [begin, end), checked against overflow (a zero dim elsewhere in the
// shape lets the tensor exist while a partial product still overflows).
int64_t dims_product(const Shape& d, size_t begin, size_t end) {
  return checked_numel(std::span<const int64_t>(d).subspan(begin, end - begin), "shape " + shape_str(d));
}

bool wants_output(const KernelContext& ctx, size_t i) {
  return i < ctx.num_outputs() && ctx.node.outputs[i] != nullptr;
}


// Mean and population variance of n values read by at(i) (two passes, for accuracy).
template <class At>
void mean_var(int64_t n, At at, double& mean, double& var) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += at(i);
  mean = sum / static_cast<double>(n);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) sq += (at(i) - mean) * (at(i) - mean);
  var = sq / static_cast<double>(n);
}

// ---- BatchNormalization ---------------------------------------------------------------

// X viewed as [n, p, s]: p parameter slots per sample (the channels, or channels x spatial
// positions in the pre-opset-9 spatial=0 mode) and s elements sharing each slot.
struct BnLayout {
  int64_t n = 1, p = 1, s = 1;
};

BnLayout bn_layout(const KernelContext& ctx, const Tensor& x, bool spatial) {
  ctx.require(x.rank() >= 1, "X must have rank >= 1, got a scalar");
  const Shape& d = x.shape();
  BnLayout l;
  l.n = d[0];  // a rank-1 X is [N] with C = 1 (opset 9+ wording)
  if (d.size() >= 2) {
    l.p = spatial ? d[1] : dims_product(d, 1, d.size());
    l.s = spatial ? dims_product(d, 2, d.size()) : 1;
  }
  return l;
}

struct BnParams {
  std::vector<double> scale, bias, mean, var;
};

BnParams bn_params(const KernelContext& ctx, const BnLayout& l, bool spatial) {
  static const char* names[] = {"scale", "B", "mean", "var"};
  std::vector<double> v[4];
  for (size_t i = 0; i < 4; ++i) {
    const Tensor& t = ctx.in(i + 1);
    bool ok = t.numel() == l.p && (!spatial || t.rank() == 1);
    if (!ok)
      ctx.fail(std::string(names[i]) + " has shape " + shape_str(t.shape()) + " but X " +
               shape_str(ctx.in(0).shape()) + " needs " + std::to_string(l.p) + " values" +
               (spatial ? " in a 1-D tensor" : ""));
    v[i] = load_floats(ctx, t, names[i]);
  }
  return {std::move(v[0]), std::move(v[1]), std::move(v[2]), std::move(v[3])};
}

// Opset 14+ says so with training_mode; before, extra outputs (running and saved stats)
// are what marks training. Opsets 1-6 also have is_test, which forbids those outputs.
bool bn_training_mode(const KernelContext& ctx) {
  size_t max_outputs = ctx.opset >= 14 ? 3 : 5;
  ctx.require(ctx.num_outputs() <= max_outputs, "has " + std::to_string(ctx.num_outputs()) +
                                                    " outputs, at most " + std::to_string(max_outputs) + " allowed");
  bool extra = false;
  for (size_t i = 1; i < ctx.num_outputs(); ++i) extra = extra || wants_output(ctx, i);
  if (ctx.opset >= 14) {
    bool training = ctx.attrs().get_int("training_mode", 0) != 0;
    ctx.require(training || !extra, "running_mean/running_var outputs require training_mode=1");
    return training;
  }
  if (ctx.opset < 7 && extra)
    ctx.require(ctx.attrs().get_int("is_test", 0) == 0, "is_test=1 allows only the output Y");
  return extra;
}

// Per-slot mean and population variance over the batch and the s elements of each slot.
template <class T>
void bn_batch_stats(const T* x, const BnLayout& l, std::vector<double>& mean, std::vector<double>& var) {
  mean.assign(static_cast<size_t>(l.p), 0.0);
  var.assign(static_cast<size_t>(l.p), 0.0);
  for (int64_t p = 0; p < l.p; ++p) {
    auto at = [&](int64_t k) { return to_double(x[((k / l.s) * l.p + p) * l.s + k % l.s]); };
    mean_var(l.n * l.s, at, mean[p], var[p]);
  }
}

template <class T>
Tensor bn_normalize(const Tensor& x, const BnLayout& l, const BnParams& prm, const std::vector<double>& mean,
                    const std::vector<double>& var, double eps) {
  Tensor y(x.dtype(), x.shape());
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t n = 0; n < l.n; ++n)
    for (int64_t p = 0; p < l.p; ++p) {
      double k = prm.scale[p] / std::sqrt(var[p] + eps);
      for (int64_t s = 0; s < l.s; ++s) {
        int64_t i = (n * l.p + p) * l.s + s;
        py[i] = convert_scalar<T>((to_double(px[i]) - mean[p]) * k + prm.bias[p]);
      }
    }
  return y;
}

// ---- softmax family ---------------------------------------------------------------------

// X viewed as [outer, len, inner]: each lane of len elements, stride inner, is one softmax.
struct Lanes {
  int64_t outer = 1, len = 1, inner = 1;
};

Lanes softmax_lanes(const KernelContext& ctx, const Tensor& x) {
  const Shape& d = x.shape();
  int64_t r = x.rank();
  if (ctx.opset >= 13) {
    size_t a = static_cast<size_t>(normalize_axis(ctx, ctx.attrs().get_int("axis", -1), r));
    return {dims_product(d, 0, a), d[a], dims_product(d, a + 1, d.size())};
  }
  // Before opset 13 the input is coerced to 2-D [d0*..*d(axis-1), d(axis)*..*d(r-1)] and
  // each row is one softmax; axis == rank (as Flatten allows) makes single-element rows.
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (axis < 0) axis += r;
  ctx.require(axis >= 0 && axis <= r, "axis " + std::to_string(ctx.attrs().get_int("axis", 1)) +
                                          " is out of range for rank " + std::to_string(r));
  size_t a = static_cast<size_t>(axis);
  return {dims_product(d, 0, a), dims_product(d, a, d.size()), 1};
}

// Applies lane_fn (which rewrites a std::vector<double> in place) to every lane of input 0.
template <class LaneFn>
Tensors softmax_like(const KernelContext& ctx, LaneFn lane_fn) {
  const Tensor& x = ctx.in(0);
  Lanes l = softmax_lanes(ctx, x);
  Tensor y = visit_float(ctx, x, "input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor out(x.dtype(), x.shape());
    if (l.len == 0) return out;
    const T* px = x.data<T>();
    T* py = out.data<T>();
    std::vector<double> lane(static_cast<size_t>(l.len));
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        int64_t base = o * l.len * l.inner + i;
        for (int64_t k = 0; k < l.len; ++k) lane[k] = to_double(px[base + k * l.inner]);
        lane_fn(lane);
        for (int64_t k = 0; k < l.len; ++k) py[base + k * l.inner] = convert_scalar<T>(lane[k]);
      }
    return out;
  });
  return single_output(ctx, std::move(y));
}

// Largest value ignoring NaNs (-inf when there is none); NaNs then propagate through exp.
double lane_max(const std::vector<double>& v) {
  double m = -std::numeric_limits<double>::infinity();
  for (double e : v) if (e > m) m = e;
  return m;
}

void softmax_lane(std::vector<double>& v) {
  double m = lane_max(v), sum = 0;
  for (double& e : v) sum += (e = std::exp(e - m));
  for (double& e : v) e /= sum;
}

void log_softmax_lane(std::vector<double>& v) {
  double m = lane_max(v), sum = 0;
  for (double e : v) sum += std::exp(e - m);
  double lse = m + std::log(sum);
  for (double& e : v) e -= lse;
}

// One-hot at the first maximum; a NaN counts as the maximum, as numpy's argmax has it.
void hardmax_lane(std::vector<double>& v) {
  size_t best = 0;
  for (size_t k = 1; k < v.size() && !std::isnan(v[best]); ++k)
    if (std::isnan(v[k]) || v[k] > v[best]) best = k;
  for (double& e : v) e = 0;
  v[best] = 1;
}

}  // namespace

Tensors ref_BatchNormalization(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Attributes& a = ctx.attrs();
  bool spatial = ctx.opset >= 9 || a.get_int("spatial", 1) != 0;  // spatial was dropped in opset 9
  double eps = a.get_float("epsilon", 1e-5f);
  double momentum = a.get_float("momentum", 0.9f);
  bool training = bn_training_mode(ctx);
  BnLayout l = bn_layout(ctx, x, spatial);
  BnParams prm = bn_params(ctx, l, spatial);
  Tensors out(ctx.num_outputs());
  visit_float(ctx, x, "X", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (!training) {
      out[0] = bn_normalize<T>(x, l, prm, prm.mean, prm.var, eps);
      return 0;
    }
    // Training: normalise with the batch statistics and blend them into the running ones.
    std::vector<double> mean, var;
    bn_batch_stats(x.data<T>(), l, mean, var);
    out[0] = bn_normalize<T>(x, l, prm, mean, var, eps);
    std::vector<double> run_mean(mean.size()), run_var(var.size());
    for (size_t p = 0; p < mean.size(); ++p) {
      run_mean[p] = prm.mean[p] * momentum + mean[p] * (1 - momentum);
      run_var[p] = prm.var[p] * momentum + var[p] * (1 - momentum);
    }
    const Tensor& in_mean = ctx.in(3);
    const Tensor& in_var = ctx.in(4);
    if (wants_output(ctx, 1)) out[1] = store_floats(ctx, in_mean.dtype(), in_mean.shape(), run_mean);
    if (wants_output(ctx, 2)) out[2] = store_floats(ctx, in_var.dtype(), in_var.shape(), run_var);
    // Opsets < 14 also output saved_mean/saved_var: the batch mean and (population) variance.
    if (wants_output(ctx, 3)) out[3] = store_floats(ctx, in_mean.dtype(), in_mean.shape(), mean);
    if (wants_output(ctx, 4)) out[4] = store_floats(ctx, in_var.dtype(), in_var.shape(), var);
    return 0;
  });
  return out;
}

Tensors ref_LayerNormalization(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Attributes& a = ctx.attrs();
  const Shape& d = x.shape();
  int64_t r = x.rank();
  // axis may equal the rank (no normalised axes), unlike most ops.
  int64_t axis = a.get_int("axis", -1);
  if (axis < 0) axis += r;
  ctx.require(axis >= 0 && axis <= r,
              "axis " + std::to_string(a.get_int("axis", -1)) + " is out of range for rank " + std::to_string(r));
  size_t ax = static_cast<size_t>(axis);
  int64_t rows = dims_product(d, 0, ax), cols = dims_product(d, ax, d.size());
  double eps = a.get_float("epsilon", 1e-5f);
  int64_t stash = a.get_int("stash_type", 1);
  ctx.require(stash > 0 && stash < 64 && is_valid_dtype(static_cast<int>(stash)) &&
                  is_float(static_cast<DType>(stash)),
              "stash_type " + std::to_string(stash) + " is not a float type");
  // The ONNX function flattens Scale and B to [1, numel] and multiplies them into the
  // [rows, cols] view of X, so each must hold cols values (or one, broadcast).
  auto load_affine = [&](size_t i, const char* name) {
    std::vector<double> v = load_floats(ctx, ctx.in(i), name);
    ctx.require(static_cast<int64_t>(v.size()) == cols || v.size() == 1,
                std::string(name) + " has shape " + shape_str(ctx.in(i).shape()) + ", which does not match the " +
                    std::to_string(cols) + " normalised elements of X " + shape_str(d));
    return v;
  };
  std::vector<double> scale = load_affine(1, "Scale");
  std::vector<double> bias = ctx.has_input(2) ? load_affine(2, "B") : std::vector<double>{0.0};
  std::vector<double> mean(static_cast<size_t>(rows)), inv_std(static_cast<size_t>(rows));
  Tensor y = visit_float(ctx, x, "X", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor out(x.dtype(), d);
    const T* px = x.data<T>();
    T* py = out.data<T>();
    for (int64_t row = 0; row < rows; ++row) {
      const T* xr = px + row * cols;
      double var = 0;
      mean_var(cols, [&](int64_t j) { return to_double(xr[j]); }, mean[row], var);
      inv_std[row] = 1 / std::sqrt(var + eps);
      for (int64_t j = 0; j < cols; ++j) {
        double s = scale[scale.size() == 1 ? 0 : j], b = bias[bias.size() == 1 ? 0 : j];
        py[row * cols + j] = convert_scalar<T>((to_double(xr[j]) - mean[row]) * inv_std[row] * s + b);
      }
    }
    return out;
  });
  Tensors out = single_output(ctx, std::move(y));
  Shape stat_shape(d.begin(), d.begin() + axis);
  stat_shape.resize(d.size(), 1);
  DType u = static_cast<DType>(stash);
  if (wants_output(ctx, 1)) out[1] = store_floats(ctx, u, stat_shape, mean);
  if (wants_output(ctx, 2)) out[2] = store_floats(ctx, u, stat_shape, inv_std);
  return out;
}

Tensors ref_InstanceNormalization(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(x.rank() >= 2, "input must be [N, C, D1, ...], got " + shape_str(x.shape()));
  const Shape& d = x.shape();
  int64_t c = d[1], nc = dims_product(d, 0, 2), s = dims_product(d, 2, d.size());
  double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  for (size_t i = 1; i <= 2; ++i)
    ctx.require(ctx.in(i).shape() == Shape{c}, std::string(i == 1 ? "scale" : "B") + " has shape " +
                                                   shape_str(ctx.in(i).shape()) + ", expected [" +
                                                   std::to_string(c) + "]");
  std::vector<double> scale = load_floats(ctx, ctx.in(1), "scale"), bias = load_floats(ctx, ctx.in(2), "B");
  Tensor y = visit_float(ctx, x, "input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor out(x.dtype(), d);
    for (int64_t q = 0; q < nc; ++q) {  // q = one (instance, channel) pair
      const T* xs = x.data<T>() + q * s;
      T* ys = out.data<T>() + q * s;
      double mean = 0, var = 0;
      mean_var(s, [&](int64_t k) { return to_double(xs[k]); }, mean, var);
      double k = scale[q % c] / std::sqrt(var + eps);
      for (int64_t i = 0; i < s; ++i) ys[i] = convert_scalar<T>((to_double(xs[i]) - mean) * k + bias[q % c]);
    }
    return out;
  });
  return single_output(ctx, std::move(y));
}

Tensors ref_LRN(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Attributes& a = ctx.attrs();
  ctx.require(a.has("size"), "the required attribute 'size' is missing");
  int64_t size = a.get_int("size", 1);
  ctx.require(size >= 1, "size must be >= 1, got " + std::to_string(size));
  double alpha = a.get_float("alpha", 1e-4f), beta = a.get_float("beta", 0.75f), bias = a.get_float("bias", 1.0f);
  ctx.require(x.rank() >= 2, "X must be [N, C, D1, ...], got " + shape_str(x.shape()));
  const Shape& d = x.shape();
  int64_t n = d[0], c = d[1], s = dims_product(d, 2, d.size());
  // Channel window [ch - floor((size-1)/2), ch + ceil((size-1)/2)], clipped to [0, C).
  int64_t before = (size - 1) / 2, after = size / 2;
  Tensor y = visit_float(ctx, x, "X", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor out(x.dtype(), d);
    const T* px = x.data<T>();
    T* py = out.data<T>();
    for (int64_t in = 0; in < n; ++in)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t k = 0; k < s; ++k) {
          double sq = 0;
          for (int64_t j = std::max<int64_t>(0, ch - before); j <= std::min(c - 1, ch + after); ++j) {
            double v = to_double(px[(in * c + j) * s + k]);
            sq += v * v;
          }
          int64_t i = (in * c + ch) * s + k;
          py[i] = convert_scalar<T>(to_double(px[i]) / std::pow(bias + alpha / size * sq, beta));
        }
    return out;
  });
  return single_output(ctx, std::move(y));
}

Tensors ref_Softmax(const KernelContext& ctx) { return softmax_like(ctx, softmax_lane); }
Tensors ref_LogSoftmax(const KernelContext& ctx) { return softmax_like(ctx, log_softmax_lane); }
Tensors ref_Hardmax(const KernelContext& ctx) { return softmax_like(ctx, hardmax_lane); }

}  // namespace nnc
