// Lowering of Resize (opsets 10 to 17), following runtime/ref/resize.cpp. scales, sizes and
// roi must be constants, so every axis's taps (input indices and weights per output
// coordinate) are computed here with the reference's double arithmetic and passed to the
// kernel as tables; the kernel only blends. Axes the resize leaves alone read straight
// through. Nearest copies the element; linear and cubic blend in double over the tensor
// product of the axes' taps, skipping zero weights, in the reference's order.
#include <algorithm>
#include <array>
#include <cmath>

#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

enum class Mode { Nearest, Linear, Cubic };
enum class Coord { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNN, TfCropAndResize };
enum class Rounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Opset10 };

constexpr int64_t kMaxLoads = 256;  // input reads per output element (taps over all resized axes)

struct Params {
  Mode mode = Mode::Nearest;
  Coord coord = Coord::HalfPixel;
  Rounding rounding = Rounding::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
};

struct Axis {
  int64_t in = 0, out = 0;
  double scale = 1, resized_len = 0, roi_start = 0, roi_end = 1;
};

// The taps of one output coordinate: up to four (index, weight) pairs, zero weights dropped.
struct Taps {
  std::array<int64_t, 4> index{};
  std::array<double, 4> w{};
  int count = 0;
  bool outside = false;  // tf_crop_and_resize beyond the input: extrapolation_value
};

template <class E>
E pick(const LowerContext& ctx, const std::string& value, std::initializer_list<std::pair<const char*, E>> table) {
  for (const auto& [name, e] : table)
    if (value == name) return e;
  ctx.unsupported("unsupported value '" + value + "'");
}

Params read_params(const LowerContext& ctx) {
  const Attributes& a = ctx.attrs();
  Params p;
  p.mode = pick<Mode>(ctx, a.get_string("mode", "nearest"),
                      {{"nearest", Mode::Nearest}, {"linear", Mode::Linear}, {"cubic", Mode::Cubic}});
  if (ctx.opset < 11) {  // Resize-10: no other attributes
    ctx.require(p.mode != Mode::Cubic, "cubic needs opset 11");
    p.coord = Coord::Asymmetric;
    p.rounding = Rounding::Opset10;
    return p;
  }
  // Opset 18 additions the reference does not implement.
  ctx.require(!a.has("axes") && a.get_int("antialias", 0) == 0 &&
                  a.get_string("keep_aspect_ratio_policy", "stretch") == "stretch",
              "axes, antialias and keep_aspect_ratio_policy are not supported");
  p.coord = pick<Coord>(ctx, a.get_string("coordinate_transformation_mode", "half_pixel"),
                        {{"half_pixel", Coord::HalfPixel},
                         {"pytorch_half_pixel", Coord::PytorchHalfPixel},
                         {"align_corners", Coord::AlignCorners},
                         {"asymmetric", Coord::Asymmetric},
                         {"tf_half_pixel_for_nn", Coord::TfHalfPixelForNN},
                         {"tf_crop_and_resize", Coord::TfCropAndResize}});
  p.rounding = pick<Rounding>(ctx, a.get_string("nearest_mode", "round_prefer_floor"),
                              {{"round_prefer_floor", Rounding::RoundPreferFloor},
                               {"round_prefer_ceil", Rounding::RoundPreferCeil},
                               {"floor", Rounding::Floor},
                               {"ceil", Rounding::Ceil}});
  p.cubic_a = a.get_float("cubic_coeff_a", -0.75f);
  p.exclude_outside = a.get_int("exclude_outside", 0) != 0;
  p.extrapolation = a.get_float("extrapolation_value", 0.0f);
  return p;
}

// The reference's resolve_axes, from constant scales / sizes / roi.
std::vector<Axis> resolve_axes(LowerContext& ctx, const Shape& in, const Params& p) {
  const size_t rank = in.size();
  const size_t scales_input = ctx.opset < 11 ? 1 : 2;
  std::vector<double> scales;
  if (ctx.has_input(scales_input)) {
    ctx.require(is_float(ctx.in(scales_input).dtype), "scales must be a float tensor");
    if (numel_of(ctx.in(scales_input).shape) > 0) scales = ctx.const_doubles(scales_input);
  } else if (ctx.opset < 11) {
    for (float f : ctx.attrs().get_floats("scales")) scales.push_back(f);
  }
  const bool has_sizes = ctx.opset >= 11 && ctx.has_input(3) && numel_of(ctx.in(3).shape) > 0;
  ctx.require(scales.empty() == has_sizes, "exactly one of scales and sizes must be given");
  std::vector<int64_t> sizes;
  if (has_sizes) {
    ctx.require(is_integer(ctx.in(3).dtype), "sizes must be an integer tensor");
    sizes = ctx.const_ints(3);
  }
  ctx.require((has_sizes ? sizes.size() : scales.size()) == rank, "scales or sizes do not match the input rank");
  std::vector<Axis> axes(rank);
  for (size_t i = 0; i < rank; ++i) {
    Axis& ax = axes[i];
    ax.in = in[i];
    if (has_sizes) {
      ctx.require(sizes[i] >= 0 && sizes[i] < 2147483648LL, "size out of range");
      ax.out = sizes[i];
      ax.scale = ax.in > 0 ? static_cast<double>(ax.out) / static_cast<double>(ax.in) : 1.0;
      ax.resized_len = static_cast<double>(ax.out);
    } else {
      const double s = scales[i];
      ctx.require(std::isfinite(s) && s > 0, "scales must be finite and > 0");
      const double len = std::floor(static_cast<double>(static_cast<float>(ax.in) * static_cast<float>(s)));
      ctx.require(len < 2147483648.0, "output too large");
      ax.out = static_cast<int64_t>(len);
      ax.scale = s;
      ax.resized_len = s * static_cast<double>(ax.in);
    }
    ctx.require(ax.in > 0 || ax.out == 0, "cannot resize an empty axis to a non-empty one");
  }
  if (p.coord == Coord::TfCropAndResize && ctx.has_input(1) && numel_of(ctx.in(1).shape) > 0) {
    ctx.require(is_float(ctx.in(1).dtype), "roi must be a float tensor");
    std::vector<double> roi = ctx.const_doubles(1);
    ctx.require(roi.size() == 2 * rank, "roi must hold 2 x rank values");
    for (size_t i = 0; i < rank; ++i) {
      axes[i].roi_start = roi[i];
      axes[i].roi_end = roi[i + rank];
      ctx.require(std::isfinite(roi[i]) && std::isfinite(roi[i + rank]), "roi values must be finite");
    }
  }
  return axes;
}

double original_coord(const Params& p, const Axis& ax, double x) {
  const double in_last = static_cast<double>(ax.in - 1);
  switch (p.coord) {
    case Coord::HalfPixel: return (x + 0.5) / ax.scale - 0.5;
    case Coord::PytorchHalfPixel: return ax.resized_len > 1 ? (x + 0.5) / ax.scale - 0.5 : 0.0;
    case Coord::AlignCorners: return ax.resized_len == 1 ? 0.0 : x * in_last / (ax.resized_len - 1);
    case Coord::Asymmetric: return x / ax.scale;
    case Coord::TfHalfPixelForNN: return (x + 0.5) / ax.scale;
    case Coord::TfCropAndResize:
      if (ax.resized_len > 1)
        return ax.roi_start * in_last + x * (ax.roi_end - ax.roi_start) * in_last / (ax.resized_len - 1);
      return 0.5 * (ax.roi_start + ax.roi_end) * in_last;
  }
  return 0.0;
}

int64_t nearest_index(const Params& p, const Axis& ax, double x) {
  const double f = std::floor(x), frac = x - f;
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

double cubic_weight(double a, double t) {
  t = std::fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

// The reference's axis_taps (interpolation_taps, then finish_taps) for output coordinate o.
Taps axis_taps(const Params& p, const Axis& ax, int64_t o) {
  Taps t;
  double x = original_coord(p, ax, static_cast<double>(o));
  if (p.coord == Coord::TfCropAndResize && (x < 0 || x > static_cast<double>(ax.in - 1))) {
    t.outside = true;
    return t;
  }
  x = std::clamp(x, -4.0, static_cast<double>(ax.in) + 3.0);
  if (p.mode == Mode::Nearest) {
    t.index[0] = std::clamp<int64_t>(nearest_index(p, ax, x), 0, ax.in - 1);
    t.w[0] = 1.0;
    t.count = 1;
    return t;
  }
  const auto i0 = static_cast<int64_t>(std::floor(x));
  const double f = x - static_cast<double>(i0);
  std::array<int64_t, 4> index{};
  std::array<double, 4> w{};
  int count = 0;
  if (p.mode == Mode::Linear) {
    index = {i0, i0 + 1};
    w = {1 - f, f};
    count = 2;
  } else {
    const double a = p.cubic_a;
    index = {i0 - 1, i0, i0 + 1, i0 + 2};
    w = {cubic_weight(a, 1 + f), cubic_weight(a, f), cubic_weight(a, 1 - f), cubic_weight(a, 2 - f)};
    count = 4;
  }
  if (p.exclude_outside) {
    double sum = 0;
    for (int i = 0; i < count; ++i) {
      if (index[i] < 0 || index[i] >= ax.in) w[i] = 0;
      sum += w[i];
    }
    if (sum != 0)
      for (int i = 0; i < count; ++i) w[i] /= sum;
  }
  for (int i = 0; i < count; ++i) {
    if (w[i] == 0) continue;  // as the reference: no 0 * inf
    t.index[t.count] = std::clamp<int64_t>(index[i], 0, ax.in - 1);
    t.w[t.count] = w[i];
    ++t.count;
  }
  return t;
}

// One axis in the kernel: read straight through, or through tables of [out, K] indices and
// weights (unused slots have weight 0); an index of -1 marks an outside coordinate.
struct AxisTable {
  bool identity = true, any_outside = false;
  int k = 1;
  TensorFunc index, weight;
};

AxisTable axis_table(LowerContext& ctx, const Params& p, const Axis& ax, int axis) {
  AxisTable t;
  t.k = p.mode == Mode::Nearest ? 1 : p.mode == Mode::Linear ? 2 : 4;
  Tensor index(DType::Int32, {ax.out, t.k}), weight(DType::Float64, {ax.out, t.k});
  int32_t* ip = index.data<int32_t>();
  double* wp = weight.data<double>();
  t.identity = ax.out == ax.in;
  for (int64_t o = 0; o < ax.out; ++o) {
    Taps taps = axis_taps(p, ax, o);
    t.any_outside |= taps.outside;
    t.identity &= !taps.outside && taps.count == 1 && taps.index[0] == o && taps.w[0] == 1.0;
    for (int j = 0; j < t.k; ++j) {
      ip[o * t.k + j] = taps.outside && j == 0 ? -1 : static_cast<int32_t>(j < taps.count ? taps.index[j] : 0);
      wp[o * t.k + j] = j < taps.count ? taps.w[j] : 0.0;
    }
  }
  if (t.identity) return t;
  const std::string name = ctx.node.name + "_axis" + std::to_string(axis);
  t.index = ctx.add_constant(std::move(index), name + "_index");
  if (p.mode != Mode::Nearest) t.weight = ctx.add_constant(std::move(weight), name + "_weight");
  return t;
}

}  // namespace

std::vector<TensorFunc> lower_Resize(LowerContext& ctx) {
  const TensorFunc& x = ctx.in(0);
  halide_type(x.dtype);
  ctx.require(ctx.out_dtype(0) == x.dtype, "output type differs from the input's");
  const Params p = read_params(ctx);
  const std::vector<Axis> axes = resolve_axes(ctx, x.shape, p);
  const int rank = x.rank();
  Shape out;
  for (const Axis& ax : axes) out.push_back(ax.out);
  ctx.require(out == ctx.out_shape(0), "output shape differs from the inferred one");
  if (numel_of(out) == 0) return {define_output(ctx, 0, out, [](const Exprs&) { return i32(0); })};
  std::vector<AxisTable> tables;
  int64_t loads = 1;
  for (int a = 0; a < rank; ++a) {
    tables.push_back(axis_table(ctx, p, axes[a], a));
    if (!tables.back().identity) loads *= tables.back().k;
    ctx.require(loads <= kMaxLoads, "too many taps per output element");
  }
  const DType dt = x.dtype;
  auto index_at = [&](int a, const Expr& o, int j) {
    return Halide::clamp(tables[a].index.at({o, i32(j)}), 0, i32(axes[a].in - 1));
  };
  // Sum over the taps of axes a.. (the reference's recursive blend); xi holds the outer axes' indices.
  std::function<Expr(int, const Exprs&, Exprs&)> blend = [&](int a, const Exprs& o, Exprs& xi) -> Expr {
    if (a == rank) return Halide::cast(Halide::Float(64), x.at(xi));
    const AxisTable& t = tables[a];
    if (t.identity) {
      xi[a] = o[a];
      return blend(a + 1, o, xi);
    }
    Expr sum = Expr(0.0);
    for (int j = 0; j < t.k; ++j) {
      xi[a] = index_at(a, o[a], j);
      Expr w = t.weight.at({o[a], i32(j)});
      sum = Halide::select(w != Expr(0.0), sum + w * blend(a + 1, o, xi), sum);
    }
    return sum;
  };
  return {define_output(ctx, 0, out, [&](const Exprs& o) {
    Exprs xi(rank);
    Expr value;
    if (p.mode == Mode::Nearest) {
      for (int a = 0; a < rank; ++a) xi[a] = tables[a].identity ? o[a] : index_at(a, o[a], 0);
      value = x.at(xi);
    } else {
      value = from_double(dt, blend(0, o, xi));
    }
    Expr outside = Halide::Internal::const_false();
    for (int a = 0; a < rank; ++a)
      if (tables[a].any_outside) outside = outside || tables[a].index.at({o[a], i32(0)}) < 0;
    return Halide::select(outside, from_double(dt, Expr(p.extrapolation)), value);
  })};
}

}  // namespace nnc::cpu
