// Reference kernels of the sampling ops. GridSample (opset 16) and RoiAlign (opset 16) read
// an N x C x H x W image at fractional positions, interpolating between neighbouring pixels;
// GridSample follows torch.nn.functional.grid_sample and RoiAlign ONNX Runtime's kernel, which
// the ONNX tests were generated from. Unique (opset 11) finds the distinct elements, or the
// distinct slices along an axis, of a tensor of any dtype, as numpy.unique does.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/ref/kernels.h"

namespace nnc {

namespace {

// One H x W channel of an image; pixels outside it read as 0.
template <class T>
struct Plane {
  const T* pixels;
  int64_t h, w;
  double at(int64_t y, int64_t x) const {
    return y >= 0 && y < h && x >= 0 && x < w ? to_double(pixels[y * w + x]) : 0.0;
  }
};

// The four weighted neighbours of the point (y, x) for bilinear interpolation.
template <class T>
std::array<double, 4> bilinear_taps(const Plane<T>& img, double y, double x) {
  const double y0 = std::floor(y), x0 = std::floor(x);
  const double fy = y - y0, fx = x - x0;
  const int64_t iy = static_cast<int64_t>(y0), ix = static_cast<int64_t>(x0);
  return {(1 - fy) * (1 - fx) * img.at(iy, ix), (1 - fy) * fx * img.at(iy, ix + 1),
          fy * (1 - fx) * img.at(iy + 1, ix), fy * fx * img.at(iy + 1, ix + 1)};
}

// The position of string attribute `name` (default `def`) among `choices`; fails for any other value.
int choose(const KernelContext& ctx, const std::string& name, const std::string& def,
           std::initializer_list<const char*> choices) {
  const std::string v = ctx.attrs().get_string(name, def);
  int i = 0;
  for (const char* c : choices) {
    if (v == c) return i;
    ++i;
  }
  ctx.fail("unsupported " + name + " '" + v + "'");
}

Shape require_image(const KernelContext& ctx, const Tensor& X) {
  ctx.require(X.rank() == 4, "X must be 4-D (N, C, H, W), got shape " + shape_str(X.shape()));
  return X.shape();
}

// ---- GridSample ----

enum class SampleMode { Bilinear, Nearest, Bicubic };
enum class Padding { Zeros, Border, Reflection };

struct GridParams {
  SampleMode mode = SampleMode::Bilinear;
  Padding padding = Padding::Zeros;
  bool align_corners = false;
};

GridParams read_grid_params(const KernelContext& ctx) {
  GridParams p;  // the choices are listed in the enums' order
  p.mode = static_cast<SampleMode>(choose(ctx, "mode", "bilinear", {"bilinear", "nearest", "bicubic"}));
  p.padding = static_cast<Padding>(choose(ctx, "padding_mode", "zeros", {"zeros", "border", "reflection"}));
  p.align_corners = ctx.attrs().get_int("align_corners", 0) != 0;
  return p;
}

// A grid value in [-1, 1] as a pixel coordinate. -1 and 1 are the centres of the corner pixels
// with align_corners, else their outer edges. Far-away (and NaN) values are clamped to a finite
// far-outside coordinate so every later integer conversion is defined.
double unnormalize(double g, int64_t size, bool align_corners) {
  const double n = static_cast<double>(size);
  const double c = align_corners ? (g + 1) / 2 * (n - 1) : ((g + 1) * n - 1) / 2;
  constexpr double kFar = 1e15;
  return std::isnan(c) ? -kFar : std::clamp(c, -kFar, kFar);
}

// c reflected into [twice_low / 2, twice_high / 2] (bounds given doubled so they stay integers).
double reflect(double c, double twice_low, double twice_high) {
  if (twice_low == twice_high) return 0;
  const double low = twice_low / 2, span = (twice_high - twice_low) / 2;
  c = std::fabs(c - low);
  const double extra = std::fmod(c, span);
  const bool even_flips = std::fmod(std::floor(c / span), 2.0) == 0;
  return even_flips ? extra + low : span - extra + low;
}

// Applies the padding mode to a pixel coordinate: border and reflection bring it inside.
double pad_coord(double c, int64_t size, const GridParams& p) {
  const double last = static_cast<double>(size - 1);
  if (p.padding == Padding::Zeros || size == 0) return c;  // an empty image reads 0 anyway
  if (p.padding == Padding::Reflection) {
    const double n = static_cast<double>(size);
    c = p.align_corners ? reflect(c, 0, 2 * last) : reflect(c, -1, 2 * n - 1);
  }
  return std::clamp(c, 0.0, last);
}

// Keys' cubic convolution weight at distance t, with PyTorch's a = -0.75.
double cubic_weight(double t) {
  constexpr double a = -0.75;
  t = std::fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

// Bicubic interpolation over the 4 x 4 neighbourhood; the padding applies to each tap's index.
template <class T>
double bicubic(const Plane<T>& img, double y, double x, const GridParams& p) {
  const double y0 = std::floor(y), x0 = std::floor(x);
  double sum = 0;
  for (int dy = -1; dy <= 2; ++dy) {
    const auto iy = static_cast<int64_t>(pad_coord(y0 + dy, img.h, p));
    for (int dx = -1; dx <= 2; ++dx) {
      const auto ix = static_cast<int64_t>(pad_coord(x0 + dx, img.w, p));
      sum += cubic_weight(y0 + dy - y) * cubic_weight(x0 + dx - x) * img.at(iy, ix);
    }
  }
  return sum;
}

// The value of the image at grid point (gx, gy).
template <class T>
double grid_sample_at(const Plane<T>& img, double gx, double gy, const GridParams& p) {
  double x = unnormalize(gx, img.w, p.align_corners);
  double y = unnormalize(gy, img.h, p.align_corners);
  if (p.mode == SampleMode::Bicubic) return bicubic(img, y, x, p);
  x = pad_coord(x, img.w, p);
  y = pad_coord(y, img.h, p);
  if (p.mode == SampleMode::Nearest)  // rounds half to even, as PyTorch's nearbyint
    return img.at(static_cast<int64_t>(std::nearbyint(y)), static_cast<int64_t>(std::nearbyint(x)));
  const std::array<double, 4> taps = bilinear_taps(img, y, x);
  return taps[0] + taps[1] + taps[2] + taps[3];
}

template <class T>
void run_grid_sample(const Tensor& X, const Tensor& grid, const GridParams& p, Tensor& Y) {
  const int64_t n = X.dim(0), c = X.dim(1), h = X.dim(2), w = X.dim(3);
  const int64_t points = grid.dim(1) * grid.dim(2);
  T* y = Y.data<T>();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const Plane<T> img{X.data<T>() + (b * c + ch) * h * w, h, w};
      for (int64_t i = 0; i < points; ++i) {
        const int64_t g = (b * points + i) * 2;  // grid[b, i] = (x, y)
        const double v = grid_sample_at(img, grid.at_double(g), grid.at_double(g + 1), p);
        y[(b * c + ch) * points + i] = convert_scalar<T>(v);
      }
    }
  }
}

// ---- RoiAlign ----

struct RoiParams {
  bool max_mode = false;
  bool half_pixel = true;
  int64_t out_h = 1, out_w = 1, sampling_ratio = 0;
  double spatial_scale = 1;
};

RoiParams read_roi_params(const KernelContext& ctx) {
  const Attributes& a = ctx.attrs();
  RoiParams p;
  p.max_mode = choose(ctx, "mode", "avg", {"avg", "max"}) == 1;
  // RoiAlign-10 has no such attribute and works as output_half_pixel.
  p.half_pixel = ctx.opset >= 16 &&
                 choose(ctx, "coordinate_transformation_mode", "half_pixel", {"half_pixel", "output_half_pixel"}) == 0;
  p.out_h = a.get_int("output_height", 1);
  p.out_w = a.get_int("output_width", 1);
  ctx.require(p.out_h > 0 && p.out_w > 0, "output_height and output_width must be > 0");
  p.sampling_ratio = a.get_int("sampling_ratio", 0);
  p.spatial_scale = a.get_float("spatial_scale", 1.0f);
  return p;
}

// One axis of one RoI: where its first bin starts, the bin size and the samples per bin.
struct RoiAxis {
  double start = 0, bin = 0;
  int64_t samples = 0;
  // The position of sample i of bin b.
  double sample(int64_t b, int64_t i) const {
    return start + bin * (static_cast<double>(b) + (static_cast<double>(i) + 0.5) / static_cast<double>(samples));
  }
};

RoiAxis roi_axis(const RoiParams& p, double lo, double hi, int64_t bins) {
  const double offset = p.half_pixel ? 0.5 : 0.0;
  RoiAxis ax;
  ax.start = lo * p.spatial_scale - offset;
  double extent = hi * p.spatial_scale - offset - ax.start;
  if (!p.half_pixel) extent = std::max(extent, 1.0);  // output_half_pixel: RoIs of at least one pixel
  ax.bin = extent / static_cast<double>(bins);
  // Adaptive sampling: about one sample per pixel (clamped so the conversion is defined).
  ax.samples = p.sampling_ratio > 0 ? p.sampling_ratio : static_cast<int64_t>(std::ceil(std::clamp(ax.bin, 0.0, 1e9)));
  return ax;
}

// The bilinear taps at (y, x), the ONNX Runtime way: points more than a pixel outside the image
// read 0, the others are clamped into it.
template <class T>
std::array<double, 4> roi_sample(const Plane<T>& img, double y, double x) {
  const double h = static_cast<double>(img.h), w = static_cast<double>(img.w);
  if (y < -1 || y > h || x < -1 || x > w || img.h == 0 || img.w == 0) return {0, 0, 0, 0};
  return bilinear_taps(img, std::clamp(y, 0.0, h - 1), std::clamp(x, 0.0, w - 1));
}

// One output bin: the average of its samples' interpolated values, or (max mode) the largest
// single weighted tap of any sample, as ONNX Runtime computes it.
template <class T>
double roi_bin(const Plane<T>& img, const RoiParams& p, const RoiAxis& ay, const RoiAxis& ax, int64_t ph, int64_t pw) {
  double acc = 0;
  bool first = true;
  for (int64_t iy = 0; iy < ay.samples; ++iy) {
    for (int64_t ix = 0; ix < ax.samples; ++ix) {
      const std::array<double, 4> taps = roi_sample(img, ay.sample(ph, iy), ax.sample(pw, ix));
      if (!p.max_mode) {
        acc += taps[0] + taps[1] + taps[2] + taps[3];
      } else {
        const double m = *std::max_element(taps.begin(), taps.end());
        acc = first ? m : std::max(acc, m);
        first = false;
      }
    }
  }
  return p.max_mode ? acc : acc / static_cast<double>(std::max<int64_t>(ay.samples * ax.samples, 1));
}

template <class T>
void run_roi_align(const KernelContext& ctx, const Tensor& X, const Tensor& rois, const std::vector<int64_t>& batch,
                   const RoiParams& p, Tensor& Y) {
  const int64_t c = X.dim(1), h = X.dim(2), w = X.dim(3);
  T* y = Y.data<T>();
  for (int64_t r = 0; r < rois.dim(0); ++r) {
    std::array<double, 4> box{};  // x1, y1, x2, y2
    for (int64_t k = 0; k < 4; ++k) {
      box[k] = rois.at_double(r * 4 + k);
      ctx.require(std::isfinite(box[k]), "rois must be finite");
    }
    ctx.require(batch[r] >= 0 && batch[r] < X.dim(0), "batch index " + std::to_string(batch[r]) + " is out of range");
    const RoiAxis ay = roi_axis(p, box[1], box[3], p.out_h);
    const RoiAxis ax = roi_axis(p, box[0], box[2], p.out_w);
    constexpr int64_t kMaxSamples = int64_t{1} << 30;  // per axis and bin; keeps their product in range
    ctx.require(ay.samples <= kMaxSamples && ax.samples <= kMaxSamples, "sampling_ratio is too large");
    for (int64_t ch = 0; ch < c; ++ch) {
      const Plane<T> img{X.data<T>() + (batch[r] * c + ch) * h * w, h, w};
      for (int64_t ph = 0; ph < p.out_h; ++ph)
        for (int64_t pw = 0; pw < p.out_w; ++pw)
          *y++ = convert_scalar<T>(roi_bin(img, p, ay, ax, ph, pw));
    }
  }
}

// ---- Unique ----

// Three-way comparison in numpy's sort order: NaNs equal each other and follow every number.
template <class T>
int compare_values(const T& a, const T& b) {
  if constexpr (std::is_same_v<T, std::string>) {
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
  } else {
    const auto x = static_cast<compute_t<T>>(a), y = static_cast<compute_t<T>>(b);
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      if (std::isnan(x) || std::isnan(y)) return static_cast<int>(std::isnan(x)) - static_cast<int>(std::isnan(y));
    }
    return x < y ? -1 : (y < x ? 1 : 0);
  }
}

// The tensor seen as `count` slices along one axis, each made of outer x inner elements.
struct SliceLayout {
  int64_t outer = 1, count = 0, inner = 1;
  int64_t at(int64_t slice, int64_t o, int64_t i) const { return (o * count + slice) * inner + i; }
};

// The distinct slices: for each (in ascending order) its first occurrence and count, and for
// each slice the distinct slice it equals.
struct Groups {
  std::vector<int64_t> first, counts, inverse;
};

template <class T>
Groups group_slices(const T* x, const SliceLayout& L) {
  auto compare = [&](int64_t a, int64_t b) {
    for (int64_t o = 0; o < L.outer; ++o)
      for (int64_t i = 0; i < L.inner; ++i)
        if (int c = compare_values(x[L.at(a, o, i)], x[L.at(b, o, i)])) return c;
    return 0;
  };
  std::vector<int64_t> order(static_cast<size_t>(L.count));
  std::iota(order.begin(), order.end(), 0);
  // Stable, so each run of equal slices starts with the first occurrence.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return compare(a, b) < 0; });
  Groups g;
  g.inverse.resize(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    if (k == 0 || compare(order[k - 1], order[k]) != 0) {
      g.first.push_back(order[k]);
      g.counts.push_back(0);
    }
    g.inverse[static_cast<size_t>(order[k])] = static_cast<int64_t>(g.first.size()) - 1;
    ++g.counts.back();
  }
  return g;
}

// Renumbers the groups in the order of their first occurrence (sorted = 0).
void order_by_first_occurrence(Groups& g) {
  std::vector<int64_t> perm(g.first.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return g.first[a] < g.first[b]; });
  std::vector<int64_t> new_id(perm.size());
  Groups out;
  for (size_t k = 0; k < perm.size(); ++k) {
    new_id[static_cast<size_t>(perm[k])] = static_cast<int64_t>(k);
    out.first.push_back(g.first[perm[k]]);
    out.counts.push_back(g.counts[perm[k]]);
  }
  for (int64_t id : g.inverse) out.inverse.push_back(new_id[static_cast<size_t>(id)]);
  g = std::move(out);
}

// Y: the distinct slices, copied out of X (any dtype, strings included).
Tensor gather_slices(const Tensor& X, const SliceLayout& L, const std::vector<int64_t>& slices, Shape shape) {
  Tensor Y(X.dtype(), std::move(shape));
  const SliceLayout out{L.outer, static_cast<int64_t>(slices.size()), L.inner};
  const auto esize = static_cast<int64_t>(dtype_size(X.dtype()));
  for (int64_t o = 0; o < L.outer; ++o) {
    for (int64_t u = 0; u < out.count; ++u) {
      const int64_t src = L.at(slices[u], o, 0), dst = out.at(u, o, 0);
      if (X.dtype() == DType::String) {
        std::copy_n(X.strings().begin() + src, L.inner, Y.strings().begin() + dst);
      } else {
        std::memcpy(static_cast<uint8_t*>(Y.raw()) + dst * esize, static_cast<const uint8_t*>(X.raw()) + src * esize,
                    static_cast<size_t>(L.inner * esize));
      }
    }
  }
  return Y;
}

Tensor int64_vector(const std::vector<int64_t>& v) { return Tensor::from_int64s(v, {static_cast<int64_t>(v.size())}); }


}  // namespace

Tensors ref_GridSample(const KernelContext& ctx) {
  const Tensor& X = ctx.in(0);
  const Tensor& grid = ctx.in(1);
  const Shape xs = require_image(ctx, X);
  ctx.require(is_float(grid.dtype()), "grid must be a float tensor");
  ctx.require(grid.rank() == 4 && grid.dim(0) == xs[0] && grid.dim(3) == 2,
              "grid must have shape (N, H_out, W_out, 2) with N = " + std::to_string(xs[0]) + ", got " +
                  shape_str(grid.shape()));
  const GridParams p = read_grid_params(ctx);
  Tensor Y(X.dtype(), {xs[0], xs[1], grid.dim(1), grid.dim(2)});
  visit_numeric(ctx, X.dtype(), [&](auto tag) { run_grid_sample<typename decltype(tag)::type>(X, grid, p, Y); });
  return single_output(ctx, std::move(Y));
}

Tensors ref_RoiAlign(const KernelContext& ctx) {
  const Tensor& X = ctx.in(0);
  const Tensor& rois = ctx.in(1);
  const Tensor& batch = ctx.in(2);
  const Shape xs = require_image(ctx, X);
  ctx.require(rois.rank() == 2 && rois.dim(1) == 4,
              "rois must have shape (num_rois, 4), got " + shape_str(rois.shape()));
  ctx.require(is_float(rois.dtype()), "rois must be a float tensor");
  ctx.require(is_integer(batch.dtype()) && batch.rank() == 1 && batch.dim(0) == rois.dim(0),
              "batch_indices must be an integer tensor of shape (num_rois), got " + shape_str(batch.shape()));
  const RoiParams p = read_roi_params(ctx);
  const std::vector<int64_t> batch_indices = batch.to_int64s();
  Tensor Y(X.dtype(), {rois.dim(0), xs[1], p.out_h, p.out_w});
  visit_float(ctx, X, "X", [&](auto tag) {
    run_roi_align<typename decltype(tag)::type>(ctx, X, rois, batch_indices, p, Y);
  });
  return single_output(ctx, std::move(Y));
}

Tensors ref_Unique(const KernelContext& ctx) {
  const Tensor& X = ctx.in(0);
  const bool sorted = ctx.attrs().get_int("sorted", 1) != 0;
  SliceLayout L;
  int64_t axis = -1;
  if (ctx.attrs().has("axis")) {
    axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), X.rank());
    const Shape& s = X.shape();
    L.outer = checked_numel(std::span(s).first(static_cast<size_t>(axis)), "Unique's outer size");
    L.count = s[static_cast<size_t>(axis)];
    L.inner = checked_numel(std::span(s).subspan(static_cast<size_t>(axis) + 1), "Unique's inner size");
  } else {
    L.count = X.numel();  // the flattened elements, each its own slice
  }
  Groups g = visit_dtype(X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, std::string>) return group_slices(X.strings().data(), L);
    else return group_slices(X.data<T>(), L);
  });
  if (!sorted) order_by_first_occurrence(g);
  const auto uniques = static_cast<int64_t>(g.first.size());
  Shape y_shape{uniques};
  if (axis >= 0) {
    y_shape = X.shape();
    y_shape[static_cast<size_t>(axis)] = uniques;
  }
  Tensors outs(std::max<size_t>(1, ctx.num_outputs()));
  outs[0] = gather_slices(X, L, g.first, y_shape);
  if (outs.size() > 1) outs[1] = int64_vector(g.first);
  if (outs.size() > 2) outs[2] = int64_vector(g.inverse);
  if (outs.size() > 3) outs[3] = int64_vector(g.counts);
  return outs;
}

}  // namespace nnc
