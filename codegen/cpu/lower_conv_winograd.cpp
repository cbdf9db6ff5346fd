// 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3): each 2x2 block of
// outputs (a tile) comes from a 4x4 patch of input, and the 9 multiplications per output per
// input channel become 4 (16 per tile), at the price of small linear transforms:
//   V = B' d B   the input patch d, per tile and input channel (per call);
//   U = G g G'   the 3x3 weights g, per output and input channel (at compile time);
//   M = sum over input channels of U * V, element-wise: 16 GEMMs [M x C] x [C x tiles];
//   Y = A' M A   the tile's 2x2 outputs, then the epilogue (bias, residual, activation).
// In one dimension (applied along x, then along y):
//   B' d = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
//   G g  = (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)
//   A' m = (m0 + m1 + m2, m1 - m2 - m3)
// which gives y0 = d0 g0 + d1 g1 + d2 g2 and y1 = d1 g0 + d2 g1 + d3 g2, the correlation.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

namespace {

constexpr int kPanel = 32;  // output channels per panel of transformed weights

// The 3x3 weights [M, C, 3, 3] transformed to [M / kPanel][4 (y)][4 (x)][C][kPanel], zero
// past M: a panel's 32 values for one (position, channel) are contiguous.
Tensor transform_weights(const Tensor& w, int64_t M, int64_t C) {
  const int64_t panels = (M + kPanel - 1) / kPanel;
  Tensor u(DType::Float32, {panels, 4, 4, C, kPanel});
  float* out = u.data<float>();  // zero-initialised
  const float* g = w.data<float>();
  auto expand = [](const double* v, double* e) {  // G applied to three values
    e[0] = v[0], e[1] = (v[0] + v[1] + v[2]) / 2, e[2] = (v[0] - v[1] + v[2]) / 2, e[3] = v[2];
  };
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < C; ++c) {
      const float* k = g + (m * C + c) * 9;
      double rows[3][4], col[3], t[4];
      for (int ky = 0; ky < 3; ++ky) {
        double v[3] = {k[ky * 3], k[ky * 3 + 1], k[ky * 3 + 2]};
        expand(v, rows[ky]);  // along x
      }
      for (int i = 0; i < 4; ++i) {
        for (int ky = 0; ky < 3; ++ky) col[ky] = rows[ky][i];
        expand(col, t);  // along y
        for (int j = 0; j < 4; ++j)
          out[(((m / kPanel * 4 + j) * 4 + i) * C + c) * kPanel + m % kPanel] = static_cast<float>(t[j]);
      }
    }
  return u;
}

Expr input_1d(int i, const std::function<Expr(int)>& d) {
  switch (i) {
    case 0: return d(0) - d(2);
    case 1: return d(1) + d(2);
    case 2: return d(2) - d(1);
    default: return d(1) - d(3);
  }
}

}  // namespace

// At least a panel of output channels and 32 input channels, so the transforms are cheap next
// to the sums, and 16 tiles (7x7 outputs). The transformed weights are 16/9 the size of the
// weights and come from DRAM in a model, yet resnet18's and resnet50's 7x7 layers of 512
// channels still ran 8-13% faster than the direct convolution (2 threads, in the model).
bool conv_uses_winograd(const LowerContext& ctx, const ConvGeometry& g) {
  const int64_t tiles = (g.OW + 1) / 2 * ((g.OH + 1) / 2);
  return ctx.constant(1) && ctx.in(0).dtype == DType::Float32 && ctx.in(1).dtype == DType::Float32 &&
         g.group == 1 && g.KH == 3 && g.KW == 3 && g.sx == 1 && g.sy == 1 && g.dx == 1 && g.dy == 1 &&
         g.C >= 32 && g.M >= kPanel && tiles >= 16;
}

std::vector<TensorFunc> lower_conv_winograd(LowerContext& ctx, ConvGeometry g) {
  const int64_t C = g.C, M = g.M;
  const int Tx = static_cast<int>((g.OW + 1) / 2), Ty = static_cast<int>((g.OH + 1) / 2);
  bool materialise = false;
  Func xp = padded_input(ctx, g, /*over_read=*/true, materialise);  // zero outside the image
  const int px = static_cast<int>(g.px), py = static_cast<int>(g.py);

  // V(tx, ty, c, i, k, n): position (i along x, k along y) of tile (tx, ty)'s transformed patch.
  Var tx("tx"), ty("ty"), c("c"), i("i"), k("k"), n("n");
  Func V(func_name(ctx.node.name + "_wino_in"));
  {
    std::vector<Expr> by_k;
    for (int kk = 0; kk < 4; ++kk)
      by_k.push_back(input_1d(kk, [&](int q) {
        std::vector<Expr> by_i;
        for (int ii = 0; ii < 4; ++ii)
          by_i.push_back(input_1d(ii, [&](int p) { return xp(tx * 2 + p - px, ty * 2 + q - py, c, n); }));
        return Halide::mux(i, by_i);
      }));
    V(tx, ty, c, i, k, n) = Halide::mux(k, by_k);
  }

  // Mw(j, tx, ty, i, k, p, n): the sum over input channels for output channel p * kPanel + j.
  Func U = ctx.add_constant(transform_weights(*ctx.constant(1), M, C), ctx.node.name + "_wino_w").f;
  Var j("j"), p("p");
  Func Mw(func_name(ctx.node.name + "_wino_acc"));
  Halide::RDom r(0, static_cast<int>(C), "rc");
  Mw(j, tx, ty, i, k, p, n) = 0.0f;
  Mw(j, tx, ty, i, k, p, n) += U(j, r, i, k, p) * V(tx, ty, r, i, k, n);

  TensorFunc y = define(ctx.node.name, ctx.out_shape(), DType::Float32, [&](const Exprs& o) {
    Expr ox = o[3], oy = o[2], m = o[1], b = o[0];
    auto acc = [&](int ii, int kk) { return Mw(m % kPanel, ox / 2, oy / 2, ii, kk, m / kPanel, b); };
    auto out_1d = [](Expr parity, const std::function<Expr(int)>& v) {
      return Halide::select(parity == 0, v(0) + v(1) + v(2), v(1) - v(2) - v(3));
    };
    Expr v = out_1d(oy % 2, [&](int kk) { return out_1d(ox % 2, [&](int ii) { return acc(ii, kk); }); });
    if (ctx.has_input(2)) v = v + ctx.in(2).at({m});
    if (ctx.node.op == OpKind::FusedConv) {
      if (ctx.has_input(3)) v = v + broadcast_at(ctx.in(3), ctx.out_shape(), o);
      v = fused_activation(ctx, v, o, ctx.out_shape(), 4);
    }
    return v;
  });

  const int tile_w = pick_row_tile(Tx);
  ctx.schedule = [=](Func out, const Shape& shape) mutable {
    Var ox = out.args()[0], oy = out.args()[1], m = out.args()[2], nb = out.args()[3];
    xp.compute_root().parallel(xp.args()[2]).vectorize(xp.args()[0], 16, Halide::TailStrategy::GuardWithIf);
    V.reorder_storage(tx, c, ty, i, k, n);
    // Tasks: `group` panels of output channels times a band of tile rows, at least 16 of
    // them. With few output channels (2 panels or less), a task takes them all and transforms
    // its own band of input, which then stays in cache; else the input is transformed once
    // per call, before the tasks, and read by each panel's tasks.
    const int64_t panels = (shape[1] + kPanel - 1) / kPanel;
    const int group = panels <= 2 ? static_cast<int>(panels) : 1;
    int band = band_rows(Ty, (panels + group - 1) / group * shape[0]);
    Var mo("mo"), mi("mi"), otx("otx"), a("a"), oty("oty"), bb("bb"), bo("bo"), bi("bi"), task("task");
    out.split(m, mo, mi, kPanel * group, Halide::TailStrategy::GuardWithIf)
        .split(ox, otx, a, 2, Halide::TailStrategy::GuardWithIf)
        .split(oy, oty, bb, 2, Halide::TailStrategy::GuardWithIf)
        .split(oty, bo, bi, band, Halide::TailStrategy::GuardWithIf)
        .reorder(mi, a, bb, otx, bi, bo, mo, nb)
        .vectorize(mi, 16)
        .unroll(a)
        .unroll(bb)
        .fuse(bo, mo, task)
        .fuse(task, nb, task)
        .parallel(task);
    const int lanes = Tx >= 16 ? 16 : Tx >= 8 ? 8 : 4;
    V.reorder(i, k, tx, ty, c, n).unroll(i).unroll(k).vectorize(tx, lanes, Halide::TailStrategy::ShiftInwards);
    if (group == panels)
      V.compute_at(out, task);
    else
      V.compute_root().parallel(c);
    // The sums of a task: for each position, the weights of a chunk of input channels
    // (32 x chunk floats) stay in L1 while every tile of the task uses them. Chunks of 16
    // under 100 tiles: resnet50's 7x7 and 14x14 layers 8% and 2% faster than with 64.
    const int chunk = std::min<int>(static_cast<int>(C), Tx * Ty < 100 ? 16 : 64);
    Halide::RVar rco("rco"), rci("rci");
    Var txo("txo"), txi("txi"), jo("jo"), ji("ji");
    Mw.compute_at(out, task).vectorize(j, 16);
    Mw.update()
        .split(j, jo, ji, 16)
        .split(tx, txo, txi, tile_w, Halide::TailStrategy::GuardWithIf)
        .split(r.x, rco, rci, chunk, Halide::TailStrategy::GuardWithIf)
        .reorder(ji, jo, txi, rci, txo, ty, rco, i, k, p)
        .vectorize(ji)
        .unroll(jo)
        .unroll(txi);
  };
  return {y};
}

}  // namespace nnc::cpu
