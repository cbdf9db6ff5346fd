// Reference kernels of ONNX's random ops: RandomUniform(Like), RandomNormal(Like), Bernoulli,
// Multinomial, and Dropout (random in training mode). All draw from std::mt19937_64 through hand-written transforms, so results with a
// "seed" attribute are reproducible across runs and platforms; they do not match numpy's
// generator, so ONNX's Bernoulli test data (made with numpy) cannot be reproduced.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "runtime/ref/kernels.h"

namespace nnc {

namespace {

// The generator shared by all six kernels. A "seed" attribute (a float) seeds it with the
// float's bit pattern, so every distinct seed value gives a distinct stream; without one the
// seed comes from std::random_device. The std distributions are avoided on purpose: their
// output differs between standard libraries.
struct Rng {
  std::mt19937_64 gen;
  explicit Rng(const KernelContext& ctx) : gen(seed_of(ctx)) {}

  static uint64_t seed_of(const KernelContext& ctx) {
    if (!ctx.attrs().has("seed")) {
      std::random_device rd;
      return (uint64_t{rd()} << 32) ^ rd();
    }
    const float seed = ctx.attrs().get_float("seed", 0.0f);
    uint32_t bits = 0;
    std::memcpy(&bits, &seed, sizeof bits);
    return bits;
  }
  // Uniform in [0, 1) from the top 53 bits.
  double uniform() { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }
  // Standard normal by Box–Muller; the pair's second value is dropped to keep the stream simple.
  double normal() {
    const double u1 = 1.0 - uniform();  // in (0, 1], so the log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
};

// The "dtype" attribute (default `def`) as a checked dtype code.
DType dtype_attr(const KernelContext& ctx, DType def) {
  const int64_t code = ctx.attrs().get_int("dtype", static_cast<int64_t>(def));
  ctx.require(code >= 0 && code <= std::numeric_limits<int>::max() && is_valid_dtype(static_cast<int>(code)),
              "invalid dtype code " + std::to_string(code));
  return static_cast<DType>(code);
}

// The required "shape" attribute of RandomUniform / RandomNormal.
Shape shape_attr(const KernelContext& ctx) {
  ctx.require(ctx.attrs().has("shape"), "missing required attribute 'shape'");
  return ctx.attrs().get_ints("shape");
}

// A float tensor of the given dtype and shape, element i set to draw() in index order.
template <class Draw>
Tensor fill(const KernelContext& ctx, DType t, const Shape& shape, Draw draw) {
  ctx.require(is_float(t), std::string("output dtype must be a float type, got ") + dtype_name(t));
  for (int64_t d : shape) ctx.require(d >= 0, "shape " + shape_str(shape) + " has a negative dimension");
  Tensor out(t, shape);  // checks the size limit
  for (int64_t i = 0; i < out.numel(); ++i) out.set_double(i, draw());
  return out;
}

Tensor uniform(const KernelContext& ctx, DType t, const Shape& shape) {
  const double low = ctx.attrs().get_float("low", 0.0f), high = ctx.attrs().get_float("high", 1.0f);
  ctx.require(std::isfinite(low) && std::isfinite(high) && low <= high,
              "need finite low <= high, got low " + std::to_string(low) + ", high " + std::to_string(high));
  Rng rng(ctx);
  return fill(ctx, t, shape, [&] { return low + (high - low) * rng.uniform(); });
}

Tensor normal(const KernelContext& ctx, DType t, const Shape& shape) {
  const double mean = ctx.attrs().get_float("mean", 0.0f), scale = ctx.attrs().get_float("scale", 1.0f);
  ctx.require(std::isfinite(mean), "mean must be finite, got " + std::to_string(mean));
  ctx.require(std::isfinite(scale) && scale >= 0, "scale must be finite and >= 0, got " + std::to_string(scale));
  Rng rng(ctx);
  return fill(ctx, t, shape, [&] { return mean + scale * rng.normal(); });
}

}  // namespace

Tensors ref_RandomUniform(const KernelContext& ctx) {
  return single_output(ctx, uniform(ctx, dtype_attr(ctx, DType::Float32), shape_attr(ctx)));
}

Tensors ref_RandomNormal(const KernelContext& ctx) {
  return single_output(ctx, normal(ctx, dtype_attr(ctx, DType::Float32), shape_attr(ctx)));
}

// The *Like ops take only the shape of input 0 (and its dtype when "dtype" is absent).
Tensors ref_RandomUniformLike(const KernelContext& ctx) {
  const Tensor& like = ctx.in(0);
  return single_output(ctx, uniform(ctx, dtype_attr(ctx, like.dtype()), like.shape()));
}

Tensors ref_RandomNormalLike(const KernelContext& ctx) {
  const Tensor& like = ctx.in(0);
  return single_output(ctx, normal(ctx, dtype_attr(ctx, like.dtype()), like.shape()));
}

Tensors ref_Bernoulli(const KernelContext& ctx) {
  const Tensor& p = ctx.in(0);
  ctx.require(is_float(p.dtype()), std::string("input must be a float tensor, got ") + dtype_name(p.dtype()));
  const DType t = dtype_attr(ctx, p.dtype());
  ctx.require(t != DType::String, "output dtype must be numeric or bool, got string");
  Tensor out(t, p.shape());
  Rng rng(ctx);
  for (int64_t i = 0; i < p.numel(); ++i) {
    const double prob = p.at_double(i);
    if (!(prob >= 0.0 && prob <= 1.0))  // also catches NaN; `if` so no message is built per element
      ctx.fail("probability " + std::to_string(prob) + " at index " + std::to_string(i) + " is not in [0, 1]");
    out.set_double(i, rng.uniform() < prob ? 1.0 : 0.0);
  }
  return single_output(ctx, std::move(out));
}

Tensors ref_Multinomial(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(is_float(x.dtype()), std::string("input must be a float tensor, got ") + dtype_name(x.dtype()));
  ctx.require(x.rank() == 2, "input must be 2-D [batch, classes], got shape " + shape_str(x.shape()));
  const DType t = dtype_attr(ctx, DType::Int32);
  ctx.require(t == DType::Int32 || t == DType::Int64, std::string("dtype must be int32 or int64, got ") + dtype_name(t));
  const int64_t batch = x.dim(0), classes = x.dim(1), samples = ctx.attrs().get_int("sample_size", 1);
  ctx.require(samples >= 0, "sample_size must be >= 0, got " + std::to_string(samples));
  ctx.require(classes > 0 || batch == 0 || samples == 0, "cannot sample from zero classes");
  Tensor out(t, {batch, samples});
  Rng rng(ctx);
  std::vector<double> cum(static_cast<size_t>(classes));
  for (int64_t b = 0; b < batch; ++b) {
    // Cumulative softmax weights of the row, shifted by its max so exp cannot overflow.
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < classes; ++c) {
      const double v = x.at_double(b * classes + c);
      if (std::isnan(v) || v == std::numeric_limits<double>::infinity())
        ctx.fail("row " + std::to_string(b) + " holds NaN or +inf");
      mx = std::max(mx, v);
    }
    ctx.require(std::isfinite(mx), "row " + std::to_string(b) + " has no class with non-zero probability");
    int64_t last_positive = 0;  // where a draw rounded up to the total lands
    double total = 0.0;
    for (int64_t c = 0; c < classes; ++c) {
      const double w = std::exp(x.at_double(b * classes + c) - mx);
      if (w > 0.0) last_positive = c;
      total += w;
      cum[c] = total;
    }
    for (int64_t s = 0; s < samples; ++s) {
      // The first class whose cumulative weight exceeds the draw; zero-weight classes never win.
      const double r = rng.uniform() * total;
      const int64_t k = std::upper_bound(cum.begin(), cum.end(), r) - cum.begin();
      out.set_double(b * samples + s, static_cast<double>(k < classes ? k : last_positive));
    }
  }
  return single_output(ctx, std::move(out));
}

// Dropout: the identity in inference mode (mask all true). In training mode each element is
// kept with probability 1 − ratio and scaled by 1/(1 − ratio), seeded like the ops above.
Tensors ref_Dropout(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  bool training = ctx.has_input(2) && ctx.in(2).numel() > 0 && ctx.in(2).at_double(0) != 0;
  double ratio = ctx.has_input(1) ? ctx.in(1).at_double(0) : ctx.attrs().get_float("ratio", 0.5f);
  ctx.require(ratio >= 0 && ratio < 1, "ratio must be in [0, 1), got " + std::to_string(ratio));
  Tensor y = x, mask(DType::Bool, x.shape());
  bool* keep = mask.data<bool>();
  if (!training || ratio == 0) {
    std::fill(keep, keep + mask.numel(), true);
  } else {
    Rng rng(ctx);
    double scale = 1 / (1 - ratio);
    for (int64_t i = 0; i < x.numel(); ++i) {
      keep[i] = rng.uniform() >= ratio;
      y.set_double(i, keep[i] ? x.at_double(i) * scale : 0.0);
    }
  }
  Tensors out{std::move(y)};
  if (ctx.num_outputs() > 1) out.push_back(std::move(mask));
  return out;
}

}  // namespace nnc
