// Lowering of GridSample (opset 16), following runtime/ref/sampling.cpp (and so PyTorch's
// grid_sample): each output point reads the N x C x H x W image at the grid's (x, y), given in
// [-1, 1]; bilinear, nearest (half to even) or bicubic (a = -0.75) interpolation; pixels
// outside read 0, or the coordinate is clamped (border) or reflected (reflection) first.
// Arithmetic in double.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

using Halide::select;

struct Grid {
  int mode = 0;     // bilinear, nearest, bicubic
  int padding = 0;  // zeros, border, reflection
  bool align_corners = false;
};

int choose(const LowerContext& ctx, const std::string& name, const std::string& def,
           std::initializer_list<const char*> choices) {
  const std::string v = ctx.attrs().get_string(name, def);
  int i = 0;
  for (const char* c : choices) {
    if (v == c) return i;
    ++i;
  }
  ctx.unsupported("unsupported " + name + " '" + v + "'");
}

// A grid value as a pixel coordinate; NaN and far values to a finite far-outside one.
Expr unnormalize(Expr g, int64_t size, bool align_corners) {
  Expr n = Expr(static_cast<double>(size));
  Expr c = align_corners ? (g + 1) / 2 * (n - 1) : ((g + 1) * n - 1) / 2;
  constexpr double kFar = 1e15;
  return select(Halide::is_nan(c), Expr(-kFar), Halide::clamp(c, Expr(-kFar), Expr(kFar)));
}

// c reflected into [twice_low / 2, twice_high / 2].
Expr reflect(Expr c, double twice_low, double twice_high) {
  if (twice_low == twice_high) return Expr(0.0);
  Expr low = Expr(twice_low / 2), span = Expr((twice_high - twice_low) / 2);
  c = Halide::abs(c - low);
  Expr flips = Halide::floor(c / span);
  Expr extra = c - flips * span;
  Expr even = flips - 2 * Halide::floor(flips / 2) == 0;
  return select(even, extra + low, span - extra + low);
}

Expr pad_coord(Expr c, int64_t size, const Grid& p) {
  if (p.padding == 0 || size == 0) return c;
  double last = static_cast<double>(size - 1);
  if (p.padding == 2) c = p.align_corners ? reflect(c, 0, 2 * last) : reflect(c, -1, 2.0 * size - 1);
  return Halide::clamp(c, Expr(0.0), Expr(last));
}

// An integral double coordinate as an int32, clamped to just outside the image (the pixels
// there read 0 either way).
Expr pixel(Expr c, int64_t size) {
  return Halide::cast<int>(Halide::clamp(c, Expr(-2.0), Expr(static_cast<double>(size + 1))));
}

Expr cubic_weight(Expr t) {
  const Expr a = Expr(-0.75);
  t = Halide::abs(t);
  Expr near = ((a + 2) * t - (a + 3)) * t * t + 1;
  Expr far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return select(t <= 1, near, select(t < 2, far, Expr(0.0)));
}

}  // namespace

std::vector<TensorFunc> lower_GridSample(LowerContext& ctx) {
  const TensorFunc& X = ctx.in(0);
  const TensorFunc& grid = ctx.in(1);
  halide_type(X.dtype);
  ctx.require(X.rank() == 4 && X.dtype != DType::Bool, "X must be a 4-D numeric tensor");
  ctx.require(is_float(grid.dtype) && grid.rank() == 4 && grid.shape[0] == X.shape[0] && grid.shape[3] == 2,
              "grid must be float (N, H_out, W_out, 2)");
  Grid p;
  p.mode = choose(ctx, "mode", "bilinear", {"bilinear", "nearest", "bicubic"});
  p.padding = choose(ctx, "padding_mode", "zeros", {"zeros", "border", "reflection"});
  p.align_corners = ctx.attrs().get_int("align_corners", 0) != 0;
  const int64_t h = X.shape[2], w = X.shape[3];
  Shape out{X.shape[0], X.shape[1], grid.shape[1], grid.shape[2]};
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    Expr n = i[0], c = i[1];
    auto at = [&](Expr iy, Expr ix) {  // 0 outside the image
      Expr inside = iy >= 0 && iy < i32(h) && ix >= 0 && ix < i32(w);
      Expr v = as_double(X.at({n, c, Halide::clamp(iy, 0, i32(h - 1)), Halide::clamp(ix, 0, i32(w - 1))}));
      return select(inside, v, Expr(0.0));
    };
    Expr x = unnormalize(as_double(grid.at({n, i[2], i[3], 0})), w, p.align_corners);
    Expr y = unnormalize(as_double(grid.at({n, i[2], i[3], 1})), h, p.align_corners);
    if (p.mode == 2) {
      Expr y0 = Halide::floor(y), x0 = Halide::floor(x), sum = Expr(0.0);
      for (int dy = -1; dy <= 2; ++dy)
        for (int dx = -1; dx <= 2; ++dx)
          sum = sum + cubic_weight(y0 + dy - y) * cubic_weight(x0 + dx - x) *
                          at(pixel(pad_coord(y0 + dy, h, p), h), pixel(pad_coord(x0 + dx, w, p), w));
      return sum;
    }
    x = pad_coord(x, w, p);
    y = pad_coord(y, h, p);
    if (p.mode == 1) return at(pixel(Halide::round(y), h), pixel(Halide::round(x), w));
    Expr y0 = Halide::floor(y), x0 = Halide::floor(x);
    Expr fy = y - y0, fx = x - x0;
    Expr iy = pixel(y0, h), ix = pixel(x0, w);
    return (1 - fy) * (1 - fx) * at(iy, ix) + (1 - fy) * fx * at(iy, ix + 1) + fy * (1 - fx) * at(iy + 1, ix) +
           fy * fx * at(iy + 1, ix + 1);
  })};
}

}  // namespace nnc::cpu
