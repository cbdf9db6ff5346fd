// Reference Resize (ONNX opsets 10 to 17). Every axis is resampled independently: each output
// coordinate maps back to an input coordinate (coordinate_transformation_mode), which gives a few
// weighted input indices (nearest: 1, linear: 2, cubic: 4). An output element is the tensor
// product of its axes' weights, i.e. N-linear / N-cubic interpolation over all axes.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/ref/kernel.h"

namespace nnc {
namespace {

enum class Mode { Nearest, Linear, Cubic };
enum class CoordMode { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNN, TfCropAndResize };
// Opset10 is Resize-10's nearest rule, which that opset's doc leaves open: floor when upsampling
// (as Upsample), ceil when downsampling (as ONNX Runtime does).
enum class Rounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Opset10 };

struct Params {
  Mode mode = Mode::Nearest;
  CoordMode coord = CoordMode::HalfPixel;
  Rounding rounding = Rounding::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
};

// One axis of the resize.
struct Axis {
  int64_t in = 0, out = 0;
  double scale = 1;        // output / input, as given by `scales` or derived from `sizes`
  double resized_len = 0;  // scale * in: the reference's "length_resized" (may be fractional)
  double roi_start = 0, roi_end = 1;
};

struct Weight {
  int64_t index;
  double w;
};

// One output coordinate of one axis: up to four weighted input indices, or `outside`
// (tf_crop_and_resize coordinates beyond the input take extrapolation_value).
struct AxisTaps {
  std::array<Weight, 4> w{};
  int count = 0;
  bool outside = false;
};

Params read_params(const KernelContext& ctx) {
  const Attributes& a = ctx.attrs();
  Params p;
  std::string mode = a.get_string("mode", "nearest");
  if (mode == "nearest") p.mode = Mode::Nearest;
  else if (mode == "linear") p.mode = Mode::Linear;
  else if (mode == "cubic" && ctx.opset >= 11) p.mode = Mode::Cubic;
  else ctx.fail("unsupported mode '" + mode + "'");
  if (ctx.opset < 11) {  // Resize-10 has no other attributes
    p.coord = CoordMode::Asymmetric;
    p.rounding = Rounding::Opset10;
    return p;
  }
  std::string coord = a.get_string("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel") p.coord = CoordMode::HalfPixel;
  else if (coord == "pytorch_half_pixel") p.coord = CoordMode::PytorchHalfPixel;
  else if (coord == "align_corners") p.coord = CoordMode::AlignCorners;
  else if (coord == "asymmetric") p.coord = CoordMode::Asymmetric;
  else if (coord == "tf_half_pixel_for_nn") p.coord = CoordMode::TfHalfPixelForNN;
  else if (coord == "tf_crop_and_resize") p.coord = CoordMode::TfCropAndResize;
  else ctx.fail("unsupported coordinate_transformation_mode '" + coord + "'");
  std::string nearest = a.get_string("nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor") p.rounding = Rounding::RoundPreferFloor;
  else if (nearest == "round_prefer_ceil") p.rounding = Rounding::RoundPreferCeil;
  else if (nearest == "floor") p.rounding = Rounding::Floor;
  else if (nearest == "ceil") p.rounding = Rounding::Ceil;
  else ctx.fail("unsupported nearest_mode '" + nearest + "'");
  p.cubic_a = a.get_float("cubic_coeff_a", -0.75f);
  p.exclude_outside = a.get_int("exclude_outside", 0) != 0;
  p.extrapolation = a.get_float("extrapolation_value", 0.0f);
  return p;
}

// The `scales` (and for opset < 11 also an attribute fallback) as doubles; empty when not given.
std::vector<double> read_scales(const KernelContext& ctx) {
  size_t idx = ctx.opset < 11 ? 1 : 2;
  std::vector<double> s;
  if (ctx.has_input(idx)) {
    const Tensor& t = ctx.in(idx);
    ctx.require(is_float(t.dtype()), "scales must be a float tensor");
    for (int64_t i = 0; i < t.numel(); ++i) s.push_back(t.at_double(i));
  } else if (ctx.opset < 11) {
    for (float f : ctx.attrs().get_floats("scales")) s.push_back(f);
  }
  return s;
}

// Resolves every axis's output length and scale from `scales` or `sizes` (exactly one is given).
std::vector<Axis> resolve_axes(const KernelContext& ctx, const Shape& in, const Params& p) {
  const size_t rank = in.size();
  std::vector<Axis> axes(rank);
  std::vector<double> scales = read_scales(ctx);
  const bool has_sizes = ctx.opset >= 11 && ctx.has_input(3) && ctx.in(3).numel() > 0;
  ctx.require(scales.empty() != !has_sizes, "exactly one of 'scales' and 'sizes' must be given (non-empty)");
  std::vector<int64_t> sizes;
  if (has_sizes) {
    ctx.require(is_integer(ctx.in(3).dtype()), "sizes must be an integer tensor");
    sizes = ctx.in(3).to_int64s();
  }
  const size_t given = has_sizes ? sizes.size() : scales.size();
  ctx.require(given == rank, std::string(has_sizes ? "sizes" : "scales") + " has " + std::to_string(given) +
                                 " entries, expected the input rank " + std::to_string(rank));
  for (size_t i = 0; i < rank; ++i) {
    Axis& ax = axes[i];
    ax.in = in[i];
    if (has_sizes) {
      ctx.require(sizes[i] >= 0, "sizes must be >= 0, got " + std::to_string(sizes[i]));
      ax.out = sizes[i];
      ax.scale = ax.in > 0 ? static_cast<double>(ax.out) / static_cast<double>(ax.in) : 1.0;
      ax.resized_len = static_cast<double>(ax.out);
    } else {
      const double s = scales[i];
      ctx.require(std::isfinite(s) && s > 0, "scales must be finite and > 0, got " + std::to_string(s));
      // Same float arithmetic as ONNX shape inference: floor(float(in) * scale).
      const double len = std::floor(static_cast<double>(static_cast<float>(ax.in) * static_cast<float>(s)));
      ctx.require(len < 9.0e15, "scale " + std::to_string(s) + " makes axis " + std::to_string(i) + " too large");
      ax.out = static_cast<int64_t>(len);
      ax.scale = s;
      ax.resized_len = s * static_cast<double>(ax.in);
    }
    ctx.require(ax.in > 0 || ax.out == 0, "cannot resize the empty axis " + std::to_string(i) + " to a non-empty one");
  }
  if (p.coord == CoordMode::TfCropAndResize && ctx.has_input(1) && ctx.in(1).numel() > 0) {
    const Tensor& roi = ctx.in(1);
    ctx.require(is_float(roi.dtype()), "roi must be a float tensor");
    ctx.require(roi.numel() == static_cast<int64_t>(2 * rank),
                "roi has " + std::to_string(roi.numel()) + " entries, expected 2 x rank = " + std::to_string(2 * rank));
    for (size_t i = 0; i < rank; ++i) {
      axes[i].roi_start = roi.at_double(static_cast<int64_t>(i));
      axes[i].roi_end = roi.at_double(static_cast<int64_t>(i + rank));
      ctx.require(std::isfinite(axes[i].roi_start) && std::isfinite(axes[i].roi_end), "roi values must be finite");
    }
  }
  return axes;
}

// Output coordinate x mapped into the input's coordinate system.
double original_coord(const Params& p, const Axis& ax, double x) {
  const double in_last = static_cast<double>(ax.in - 1);
  switch (p.coord) {
    case CoordMode::HalfPixel: return (x + 0.5) / ax.scale - 0.5;
    case CoordMode::PytorchHalfPixel: return ax.resized_len > 1 ? (x + 0.5) / ax.scale - 0.5 : 0.0;
    case CoordMode::AlignCorners: return ax.resized_len == 1 ? 0.0 : x * in_last / (ax.resized_len - 1);
    case CoordMode::Asymmetric: return x / ax.scale;
    case CoordMode::TfHalfPixelForNN: return (x + 0.5) / ax.scale;
    case CoordMode::TfCropAndResize:
      if (ax.resized_len > 1)
        return ax.roi_start * in_last + x * (ax.roi_end - ax.roi_start) * in_last / (ax.resized_len - 1);
      return 0.5 * (ax.roi_start + ax.roi_end) * in_last;
  }
  return 0.0;
}

int64_t nearest_index(const Params& p, const Axis& ax, double x) {
  const double f = std::floor(x);
  const double frac = x - f;
  if (frac == 0) return static_cast<int64_t>(f);
  bool up = false;
  switch (p.rounding) {
    case Rounding::RoundPreferFloor: up = frac > 0.5; break;
    case Rounding::RoundPreferCeil: up = frac >= 0.5; break;
    case Rounding::Floor: up = false; break;
    case Rounding::Ceil: up = true; break;
    case Rounding::Opset10: up = ax.scale < 1; break;
  }
  return static_cast<int64_t>(f) + (up ? 1 : 0);
}

// Keys' cubic convolution kernel with parameter a, at distance t.
double cubic_weight(double a, double t) {
  t = std::fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

AxisTaps interpolation_taps(const Params& p, const Axis& ax, double x) {
  // Beyond this range every tap is clamped to the edge anyway (or excluded); clamping x keeps
  // the integer conversions below defined for absurd scales.
  x = std::clamp(x, -4.0, static_cast<double>(ax.in) + 3.0);
  AxisTaps t;
  if (p.mode == Mode::Nearest) {
    t.w[0] = {nearest_index(p, ax, x), 1.0};
    t.count = 1;
    return t;
  }
  const int64_t i0 = static_cast<int64_t>(std::floor(x));
  const double f = x - static_cast<double>(i0);
  if (p.mode == Mode::Linear) {
    t.w = {Weight{i0, 1 - f}, Weight{i0 + 1, f}};
    t.count = 2;
    return t;
  }
  const double a = p.cubic_a;
  t.w = {Weight{i0 - 1, cubic_weight(a, 1 + f)}, Weight{i0, cubic_weight(a, f)}, Weight{i0 + 1, cubic_weight(a, 1 - f)},
         Weight{i0 + 2, cubic_weight(a, 2 - f)}};
  t.count = 4;
  return t;
}

// Out-of-range taps read the edge element, unless exclude_outside drops them and renormalises.
void finish_taps(const Params& p, const Axis& ax, AxisTaps& t) {
  if (p.exclude_outside && p.mode != Mode::Nearest) {
    double sum = 0;
    for (int i = 0; i < t.count; ++i) {
      if (t.w[i].index < 0 || t.w[i].index >= ax.in) t.w[i].w = 0;
      sum += t.w[i].w;
    }
    if (sum != 0)
      for (int i = 0; i < t.count; ++i) t.w[i].w /= sum;
  }
  int kept = 0;
  for (int i = 0; i < t.count; ++i) {
    if (t.w[i].w == 0) continue;  // skipping zero weights keeps 0 * inf from producing NaN
    t.w[kept] = {std::clamp<int64_t>(t.w[i].index, 0, ax.in - 1), t.w[i].w};
    ++kept;
  }
  t.count = kept;
}

// The taps of output coordinate o on one axis. Computed per coordinate rather than tabulated,
// so a long axis costs no memory beyond the output itself.
AxisTaps axis_taps(const Params& p, const Axis& ax, int64_t o) {
  const double x = original_coord(p, ax, static_cast<double>(o));
  if (p.coord == CoordMode::TfCropAndResize && (x < 0 || x > static_cast<double>(ax.in - 1))) {
    AxisTaps t;
    t.outside = true;
    return t;
  }
  AxisTaps t = interpolation_taps(p, ax, x);
  finish_taps(p, ax, t);
  return t;
}

template <class T>
double load(const T* x, int64_t i) {
  return static_cast<double>(static_cast<compute_t<T>>(x[i]));
}

// Sum over the tensor product of the taps of axes [axis, rank).
template <class T>
double blend(const T* x, const std::vector<AxisTaps>& taps, const Shape& strides, size_t axis, int64_t offset) {
  if (axis == taps.size()) return load(x, offset);
  double sum = 0;
  for (int i = 0; i < taps[axis].count; ++i) {
    const Weight& w = taps[axis].w[i];
    sum += w.w * blend(x, taps, strides, axis + 1, offset + w.index * strides[axis]);
  }
  return sum;
}

template <class T>
void run_resize(const Tensor& X, const std::vector<Axis>& axes, const Params& p, Tensor& Y) {
  const T* x = X.data<T>();
  T* y = Y.data<T>();
  const Shape strides = strides_of(X.shape());
  const size_t rank = axes.size();
  std::vector<int64_t> coord(rank, 0);
  std::vector<AxisTaps> taps(rank);
  for (size_t i = 0; i < rank; ++i) taps[i] = axis_taps(p, axes[i], 0);
  for (int64_t flat = 0; flat < Y.numel(); ++flat) {
    bool outside = false;
    for (const AxisTaps& t : taps) outside |= t.outside;
    if (outside) {
      y[flat] = convert_scalar<T>(p.extrapolation);
    } else if (p.mode == Mode::Nearest) {
      int64_t offset = 0;  // copy, not through double, so int64 values stay exact
      for (size_t i = 0; i < rank; ++i) offset += taps[i].w[0].index * strides[i];
      y[flat] = x[offset];
    } else {
      y[flat] = convert_scalar<T>(blend(x, taps, strides, 0, 0));
    }
    // Advance the row-major output coordinate, recomputing the taps of every axis that moved.
    for (size_t i = rank; i-- > 0;) {
      coord[i] = coord[i] + 1 < axes[i].out ? coord[i] + 1 : 0;
      taps[i] = axis_taps(p, axes[i], coord[i]);
      if (coord[i] != 0) break;
    }
  }
}

}  // namespace

Tensors ref_Resize(const KernelContext& ctx) {
  const Tensor& X = ctx.in(0);
  const Params p = read_params(ctx);
  const std::vector<Axis> axes = resolve_axes(ctx, X.shape(), p);
  Shape out_shape;
  for (const Axis& ax : axes) out_shape.push_back(ax.out);
  Tensor Y(X.dtype(), out_shape);
  if (Y.numel() > 0)
    visit_numeric(ctx, X.dtype(), [&](auto tag) { run_resize<typename decltype(tag)::type>(X, axes, p, Y); });
  Tensors outs(std::max<size_t>(1, ctx.num_outputs()));
  outs[0] = std::move(Y);
  return outs;
}

}  // namespace nnc
