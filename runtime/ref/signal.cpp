// Reference kernels for the opset-17 signal ops: DFT and STFT (complex values are a
// trailing dim of 2, real inputs a trailing dim of 1), the cosine-sum windows HannWindow,
// HammingWindow and BlackmanWindow, and MelWeightMatrix. Transforms are the direct O(n^2)
// sum evaluated in double, which is exact enough and correct for every length.
#include "runtime/ref/kernels.h"

#include <cmath>
#include <complex>
#include <numbers>
#include <string>
#include <vector>

namespace nnc {

namespace {

using Complex = std::complex<double>;

// A one-element integer input (shape [] or [1]) as an int64.
int64_t scalar_int(const KernelContext& ctx, size_t i, const std::string& what) {
  const Tensor& t = ctx.in(i);
  ctx.require(is_integer(t.dtype()), what + " must be an integer tensor, got " + dtype_name(t.dtype()));
  ctx.require(t.numel() == 1, what + " must be a scalar, got shape " + shape_str(t.shape()));
  return t.to_int64s()[0];
}

// A one-element float input as a double.
double scalar_float(const KernelContext& ctx, size_t i, const std::string& what) {
  const Tensor& t = ctx.in(i);
  ctx.require(is_float(t.dtype()), what + " must be a float tensor, got " + dtype_name(t.dtype()));
  ctx.require(t.numel() == 1, what + " must be a scalar, got shape " + shape_str(t.shape()));
  return t.at_double(0);
}

// The dtype named by the output_datatype attribute (default 1 = float32); any numeric type.
DType output_datatype(const KernelContext& ctx) {
  int64_t code = ctx.attrs().get_int("output_datatype", 1);
  bool ok = code >= 0 && code <= 64 && is_valid_dtype(static_cast<int>(code));
  DType t = ok ? static_cast<DType>(code) : DType::Undefined;
  ctx.require(ok && t != DType::String && t != DType::Bool,
              "output_datatype " + std::to_string(code) + " is not a numeric tensor type");
  return t;
}

// The DFT of length n (forward: exp(-2*pi*i*k*t/n); inverse: exp(+...) / n). Inputs
// shorter than n are zero-padded, longer ones truncated; only bins [0, bins) are produced.
class Dft {
 public:
  Dft(int64_t n, bool inverse) : n_(n), inverse_(inverse) {
    twiddle_.resize(static_cast<size_t>(checked_bytes(n, sizeof(Complex), "DFT twiddle table") / sizeof(Complex)));
    // Angles from the exact integer phase (k*t mod n) keep long transforms accurate.
    const double sign = inverse ? 1.0 : -1.0;
    for (int64_t m = 0; m < n; ++m)
      twiddle_[m] = std::polar(1.0, sign * 2.0 * std::numbers::pi * static_cast<double>(m) / static_cast<double>(n));
  }

  void run(const std::vector<Complex>& in, std::vector<Complex>& out) const {
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(in.size()), n_);
    for (size_t k = 0; k < out.size(); ++k) {
      Complex s = 0;
      for (int64_t t = 0; t < len; ++t) s += in[t] * twiddle_[(static_cast<int64_t>(k) * t) % n_];
      out[k] = inverse_ ? s / static_cast<double>(n_) : s;
    }
  }

 private:
  int64_t n_;
  bool inverse_;
  std::vector<Complex> twiddle_;
};

// The trailing real/imaginary dim of a signal: 1 (real) or 2 (complex).
int64_t complex_dim(const KernelContext& ctx, const Tensor& x, const std::string& what) {
  ctx.require(is_float(x.dtype()), what + " must be a float tensor, got " + dtype_name(x.dtype()));
  int64_t c = x.rank() > 0 ? x.shape().back() : 0;
  ctx.require(c == 1 || c == 2, what + " must end in a dim of 1 (real) or 2 (complex), got shape " +
                                    shape_str(x.shape()));
  return c;
}

// The number of bins a transform of length n returns: n, or n/2+1 for a onesided one.
int64_t bin_count(const KernelContext& ctx, int64_t n, bool onesided, int64_t c) {
  ctx.require(!onesided || c == 1, "onesided output needs a real input (trailing dim 1)");
  return onesided ? n / 2 + 1 : n;
}

// Window w[k] = a0 - a1*cos(2*pi*k/N) + a2*cos(4*pi*k/N), with N = size (periodic) or
// size - 1 (symmetric); `a` holds {a0, a1, a2}.
Tensors cosine_window(const KernelContext& ctx, const double (&a)[3]) {
  const int64_t size = scalar_int(ctx, 0, "size");
  ctx.require(size >= 0, "size must be >= 0, got " + std::to_string(size));
  const bool periodic = ctx.attrs().get_int("periodic", 1) != 0;
  const double N = static_cast<double>(periodic ? size : size - 1);
  Tensor y(output_datatype(ctx), {size});
  for (int64_t k = 0; k < size; ++k) {
    double theta = N > 0 ? 2.0 * std::numbers::pi * static_cast<double>(k) / N : 0.0;
    y.set_double(k, a[0] - a[1] * std::cos(theta) + a[2] * std::cos(2.0 * theta));
  }
  return {std::move(y)};
}

}  // namespace

// DFT along `axis` (counted over the dims before the trailing complex dim).
Tensors ref_DFT(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(x.rank() >= 2, "input must have rank >= 2 ([batch, signal dims..., 1 or 2]), got " + shape_str(x.shape()));
  const int64_t c = complex_dim(ctx, x, "input");
  const int64_t rank = x.rank();
  const int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 1), rank - 1);
  const bool inverse = ctx.attrs().get_int("inverse", 0) != 0;
  const bool onesided = ctx.attrs().get_int("onesided", 0) != 0;
  const int64_t n_in = x.dim(static_cast<int>(axis));
  const int64_t n = ctx.has_input(1) ? scalar_int(ctx, 1, "dft_length") : n_in;
  ctx.require(n >= 1, "the DFT length (dft_length, else the axis dim) must be >= 1, got " + std::to_string(n));

  Shape out_shape = x.shape();
  out_shape[axis] = bin_count(ctx, n, onesided, c);
  out_shape.back() = 2;
  Tensor y(x.dtype(), out_shape);
  if (y.numel() == 0) return {std::move(y)};

  // x viewed as [outer][n_in][inner][c], y as [outer][bins][inner][2].
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(static_cast<int>(d));
  for (int64_t d = axis + 1; d < rank - 1; ++d) inner *= x.dim(static_cast<int>(d));
  const int64_t bins = out_shape[axis];
  const Dft dft(n, inverse);
  std::vector<Complex> line(static_cast<size_t>(std::min(n_in, n))), spectrum(static_cast<size_t>(bins));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      for (size_t t = 0; t < line.size(); ++t) {
        int64_t base = ((o * n_in + static_cast<int64_t>(t)) * inner + i) * c;
        line[t] = Complex(x.at_double(base), c == 2 ? x.at_double(base + 1) : 0.0);
      }
      dft.run(line, spectrum);
      for (int64_t k = 0; k < bins; ++k) {
        int64_t base = ((o * bins + k) * inner + i) * 2;
        y.set_double(base, spectrum[k].real());
        y.set_double(base + 1, spectrum[k].imag());
      }
    }
  return {std::move(y)};
}

// STFT: signal [batch, length, 1 or 2] -> [batch, frames, bins, 2], each frame the DFT of
// frame_length samples (times the window when given) starting every frame_step samples.
Tensors ref_STFT(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(x.rank() == 3, "signal must have shape [batch, length, 1 or 2], got " + shape_str(x.shape()));
  const int64_t c = complex_dim(ctx, x, "signal");
  const int64_t step = scalar_int(ctx, 1, "frame_step");
  ctx.require(step >= 1, "frame_step must be >= 1, got " + std::to_string(step));
  const Tensor* window = ctx.has_input(2) ? &ctx.in(2) : nullptr;
  if (window) {
    ctx.require(window->rank() == 1, "window must be 1-D, got " + shape_str(window->shape()));
    ctx.require(is_float(window->dtype()), "window must be a float tensor");
  }
  ctx.require(window || ctx.has_input(3), "either window or frame_length must be given");
  const int64_t frame = ctx.has_input(3) ? scalar_int(ctx, 3, "frame_length") : window->dim(0);
  ctx.require(!window || window->dim(0) == frame, "window length " + (window ? std::to_string(window->dim(0)) : "") +
                                                      " differs from frame_length " + std::to_string(frame));
  const int64_t batch = x.dim(0), length = x.dim(1);
  ctx.require(frame >= 1 && frame <= length, "frame_length " + std::to_string(frame) +
                                                 " must be in [1, signal length " + std::to_string(length) + "]");
  const int64_t frames = (length - frame) / step + 1;
  const int64_t bins = bin_count(ctx, frame, ctx.attrs().get_int("onesided", 1) != 0, c);

  Tensor y(x.dtype(), {batch, frames, bins, 2});
  const Dft dft(frame, /*inverse=*/false);
  std::vector<Complex> line(static_cast<size_t>(frame)), spectrum(static_cast<size_t>(bins));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t t = 0; t < frame; ++t) {
        int64_t base = (b * length + f * step + t) * c;
        double w = window ? window->at_double(t) : 1.0;
        line[t] = w * Complex(x.at_double(base), c == 2 ? x.at_double(base + 1) : 0.0);
      }
      dft.run(line, spectrum);
      for (int64_t k = 0; k < bins; ++k) {
        int64_t base = ((b * frames + f) * bins + k) * 2;
        y.set_double(base, spectrum[k].real());
        y.set_double(base + 1, spectrum[k].imag());
      }
    }
  return {std::move(y)};
}

Tensors ref_HannWindow(const KernelContext& ctx) {
  static constexpr double a[3] = {0.5, 0.5, 0.0};
  return cosine_window(ctx, a);
}

Tensors ref_HammingWindow(const KernelContext& ctx) {
  static constexpr double a[3] = {25.0 / 46.0, 21.0 / 46.0, 0.0};
  return cosine_window(ctx, a);
}

Tensors ref_BlackmanWindow(const KernelContext& ctx) {
  static constexpr double a[3] = {0.42, 0.5, 0.08};
  return cosine_window(ctx, a);
}

// MelWeightMatrix [dft_length/2 + 1, num_mel_bins]: triangular filters whose corners are
// num_mel_bins + 2 points spaced evenly on the mel scale (mel(f) = 2595*log10(1 + f/700))
// over [lower_edge_hertz, upper_edge_hertz], each snapped down to a spectrogram bin. This
// follows the ONNX reference exactly, including the step of (high - low) / (num_mel_bins + 2).
Tensors ref_MelWeightMatrix(const KernelContext& ctx) {
  const int64_t mel_bins = scalar_int(ctx, 0, "num_mel_bins");
  const int64_t dft_length = scalar_int(ctx, 1, "dft_length");
  const int64_t sample_rate = scalar_int(ctx, 2, "sample_rate");
  const double lower_hz = scalar_float(ctx, 3, "lower_edge_hertz");
  const double upper_hz = scalar_float(ctx, 4, "upper_edge_hertz");
  ctx.require(mel_bins >= 1 && dft_length >= 1 && sample_rate >= 1,
              "num_mel_bins, dft_length and sample_rate must be >= 1");
  ctx.require(lower_hz >= 0 && upper_hz >= lower_hz && std::isfinite(upper_hz),
              "need 0 <= lower_edge_hertz <= upper_edge_hertz (finite)");
  const int64_t spec_bins = dft_length / 2 + 1;
  Tensor y(output_datatype(ctx), {spec_bins, mel_bins});

  auto mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  const double low_mel = mel(lower_hz);
  const double step = (mel(upper_hz) - low_mel) / static_cast<double>(mel_bins + 2);
  // Corner i as a spectrogram bin, kept in double (an integer value) so that no huge
  // upper_edge_hertz can overflow an int64.
  auto corner = [&](int64_t i) {
    double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595.0) - 1.0);
    return std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate));
  };
  // Writes `v` at row j (when j is a row of the matrix), column m.
  auto put = [&](double j, int64_t m, double v) {
    if (j >= 0 && j < static_cast<double>(spec_bins)) y.set_double(static_cast<int64_t>(j) * mel_bins + m, v);
  };
  for (int64_t m = 0; m < mel_bins; ++m) {
    const double left = corner(m), center = corner(m + 1), right = corner(m + 2);
    // Rising edge (a single 1 at the center when it has zero width), then the falling edge,
    // which overwrites the center; rows outside the matrix are skipped.
    if (center == left) put(center, m, 1.0);
    else
      for (double j = std::max(left, 0.0); j <= center && j < spec_bins; ++j) put(j, m, (j - left) / (center - left));
    for (double j = std::max(center, 0.0); j < right && j < spec_bins; ++j)
      put(j, m, (right - j) / (right - center));
  }
  return {std::move(y)};
}

}  // namespace nnc
