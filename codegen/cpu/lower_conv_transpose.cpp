// Lowering of 1-D and 2-D float32 ConvTranspose (group, strides, dilations, pads, output_padding,
// output_shape, auto_pad), following the geometry of runtime/ref/conv.cpp. Written as a
// gather: output position o takes the taps k with (o + pad - k * dilation) divisible by the
// stride and the quotient inside the input. The output is split into stride phases
// (o = q * stride + p): within a phase the same taps are valid for every q, so an RDom
// predicate on the phase skips the others and the loop over q vectorises. Each output
// accumulates in float32 from its bias over (input channel, ky, kx), the reference's order;
// taps that land in the zero padding around the input add 0 * weight.
#include <cstdlib>

#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {
namespace {

constexpr int64_t kMaxExtent = int64_t{1} << 28;  // attributes and sizes beyond fall back

struct Axis {
  int64_t in = 0, kernel = 0, stride = 1, dilation = 1, out = 0, pad_begin = 0;
};

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::vector<int64_t> axis_ints(const LowerContext& ctx, const char* name, size_t n, int64_t def, int64_t min) {
  std::vector<int64_t> v = ctx.attrs().get_ints(name, std::vector<int64_t>(n, def));
  ctx.require(v.size() == n, std::string(name) + " has the wrong number of entries");
  for (int64_t x : v) ctx.require(x >= min && x <= kMaxExtent, std::string(name) + " value out of range");
  return v;
}

// The reference's transpose_geometry for the spatial axes.
std::vector<Axis> geometry(const LowerContext& ctx, const Shape& x, const Shape& w) {
  const size_t n = x.size() - 2;
  std::string auto_pad = ctx.attrs().get_string("auto_pad", "NOTSET");
  if (auto_pad.empty()) auto_pad = "NOTSET";
  ctx.require(auto_pad == "NOTSET" || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" || auto_pad == "VALID",
              "unknown auto_pad");
  Shape kernel(w.begin() + 2, w.end());
  if (ctx.attrs().has("kernel_shape")) ctx.require(ctx.attrs().get_ints("kernel_shape") == kernel, "kernel_shape");
  std::vector<int64_t> strides = axis_ints(ctx, "strides", n, 1, 1), dilations = axis_ints(ctx, "dilations", n, 1, 1);
  std::vector<int64_t> out_pad = axis_ints(ctx, "output_padding", n, 0, 0);
  std::vector<int64_t> out_shape = ctx.attrs().get_ints("output_shape", {});
  if (out_shape.size() == n + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  ctx.require(out_shape.empty() || out_shape.size() == n, "output_shape has the wrong number of entries");
  std::vector<int64_t> pads(2 * n, 0);
  if (out_shape.empty() && auto_pad == "NOTSET") pads = axis_ints(ctx, "pads", 2 * n, 0, 0);
  std::vector<Axis> axes(n);
  for (size_t i = 0; i < n; ++i) {
    Axis& a = axes[i];
    a.in = x[i + 2], a.kernel = kernel[i], a.stride = strides[i], a.dilation = dilations[i];
    ctx.require(a.in >= 1 && a.in <= kMaxExtent && a.kernel >= 1 && (a.kernel - 1) * a.dilation <= kMaxExtent,
                "spatial sizes out of range");
    const int64_t full = a.stride * (a.in - 1) + out_pad[i] + (a.kernel - 1) * a.dilation + 1;
    if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      a.out = !out_shape.empty() ? out_shape[i] : a.in * a.stride;
      ctx.require(a.out >= 0 && a.out <= kMaxExtent, "output_shape out of range");
      const int64_t total = full - a.out;
      a.pad_begin = auto_pad == "SAME_UPPER" ? floor_div(total, 2) : total - floor_div(total, 2);
    } else {
      a.out = full - pads[i] - pads[i + n];
      ctx.require(a.out >= 0, "pads are larger than the output");
      a.pad_begin = pads[i];
    }
    ctx.require(a.out <= kMaxExtent && std::abs(a.pad_begin) <= kMaxExtent, "output or pads out of range");
  }
  return axes;
}

}  // namespace

std::vector<TensorFunc> lower_ConvTranspose(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &w = ctx.in(1);
  ctx.require((x.rank() == 3 || x.rank() == 4) && w.rank() == x.rank(),
              "only 1-D and 2-D transposed convolutions have compiled kernels");
  const bool one_d = x.rank() == 3;
  ctx.require(x.dtype == DType::Float32 && w.dtype == DType::Float32, "compiled transposed convolutions are float32");
  const int64_t N = x.shape[0], C = x.shape[1], group = ctx.attrs().get_int("group", 1);
  ctx.require(group >= 1 && C % group == 0 && w.shape[0] == C, "group, or W does not match X's channels");
  const int64_t Cg = C / group, Mg = w.shape[1], M = Mg * group;
  ctx.require(Cg >= 1 && Mg >= 1 && M <= kMaxExtent, "channels");
  const TensorFunc* bias = ctx.has_input(2) ? &ctx.in(2) : nullptr;
  ctx.require(!bias || (bias->dtype == DType::Float32 && bias->shape == Shape{M}), "bias must be float32 [M]");
  std::vector<Axis> ax = geometry(ctx, x.shape, w.shape);
  if (one_d) ax.insert(ax.begin(), Axis{1, 1, 1, 1, 1, 0});  // a unit y axis
  const Axis &ay = ax[0], &axx = ax[1];
  const Shape out = one_d ? Shape{N, M, axx.out} : Shape{N, M, ay.out, axx.out};
  // x and w as 2-D: (ix, iy, c, n) and (kx, ky, m, c).
  Func x2(func_name(ctx.node.name + "_x")), w2(func_name(ctx.node.name + "_w"));
  {
    Var a("a"), b("b"), c("c"), d("d");
    x2(a, b, c, d) = one_d ? x.f(a, c, d) : x.f(a, b, c, d);
    w2(a, b, c, d) = one_d ? w.f(a, c, d) : w.f(a, b, c, d);
  }
  if (numel_of(out) == 0) return {define_output(ctx, 0, out, [](const Exprs&) { return i32(0); })};

  // The input with zeros around it (as far as the taps reach), so the taps' loads are dense.
  Var ix_("ix"), iy_("iy"), cc("c"), n("n");
  Func xp(func_name(ctx.node.name + "_padded"));
  Expr in_range = ix_ >= 0 && ix_ < i32(axx.in) && iy_ >= 0 && iy_ < i32(ay.in);
  xp(ix_, iy_, cc, n) = Halide::select(
      in_range, x2(Halide::clamp(ix_, 0, i32(axx.in - 1)), Halide::clamp(iy_, 0, i32(ay.in - 1)), cc, n), 0.0f);
  xp.compute_root().parallel(cc).vectorize(ix_, 8, Halide::TailStrategy::GuardWithIf);

  // acc(qx, qy, px, py, m, n): output (qy * sy + py, qx * sx + px) of channel m, image n.
  Var qx("qx"), qy("qy"), px("px"), py("py"), m("m");
  Func acc(func_name(ctx.node.name + "_acc"));
  acc(qx, qy, px, py, m, n) = bias ? bias->f(m) : Expr(0.0f);
  Halide::RDom r(0, i32(axx.kernel), 0, i32(ay.kernel), 0, i32(Cg), "r");
  // Along one axis: o + pad - k * dilation = (q + offset) * stride, with offset fixed by (p, k).
  auto rest = [](const Axis& a, Expr p, Expr k) { return p + i32(a.pad_begin) - k * i32(a.dilation); };
  r.where(rest(axx, px, r.x) % i32(axx.stride) == 0 && rest(ay, py, r.y) % i32(ay.stride) == 0);
  Expr ix = qx + rest(axx, px, r.x) / i32(axx.stride), iy = qy + rest(ay, py, r.y) / i32(ay.stride);
  Expr c = (m / i32(Mg)) * i32(Cg) + r.z;
  acc(qx, qy, px, py, m, n) += xp(ix, iy, c, n) * w2(r.x, r.y, m % i32(Mg), c);

  Var task("task");
  acc.compute_root().fuse(m, n, task).parallel(task).vectorize(qx, 8, Halide::TailStrategy::GuardWithIf);
  acc.update()
      .reorder(qx, r.x, r.y, r.z, qy, px, py, m, n)
      .fuse(m, n, task)
      .parallel(task)
      .vectorize(qx, 8, Halide::TailStrategy::GuardWithIf);
  const int sy = static_cast<int>(ay.stride), sx = static_cast<int>(axx.stride);
  return {define_output(ctx, 0, out, [&](const Exprs& i) {
    if (one_d) return acc(i[2] / sx, 0, i[2] % sx, 0, i[1], i[0]);
    return acc(i[3] / sx, i[2] / sy, i[3] % sx, i[2] % sy, i[1], i[0]);
  })};
}

}  // namespace nnc::cpu
