// Lowering of 2-D convolution (Conv and FusedConv: bias, residual add and activation in
// the epilogue). Three loop nests:
//  - group 1, the common case: weights are re-packed per panel of output channels,
//    [panel][C][KH][KW][j] (at compile time when constant, else per call), so the
//    accumulation reads each panel's weights contiguously. Each output block accumulates
//    in registers over (c, ky, kx) and is stored with the epilogue:
//      * across channels: 32 channels x 4-8 pixels, one input pixel broadcast against two
//        weight vectors per step; with a window, over chunks of 16 input channels at a time;
//      * along the row (wide rows, few input channels): 32 pixels x 8 channels (or 16 x 16),
//        one weight broadcast against two input vectors (or one) per step; strided ones read
//        the input split into phases of columns;
//  - any other grouping (depthwise included): vectorised along the output row, the whole
//    window summed per vector, in blocks of one vector x 4 rows (1 row for strided windows
//    narrower than 5) held in registers.
// The input is zero-padded per call when the convolution pads (per plane for depthwise), and
// subsampled when a 1x1 convolution strides. 1x1 convolutions of at least 64 output pixels
// are GEMMs over flattened images instead (conv_reads_flat, lower_conv_as_gemm), and most 3x3
// stride-1 ones with constant weights run by Winograd's F(2x2, 3x3) (lower_conv_winograd.cpp).
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

namespace {
// The input rows (or columns) that `out` outputs read, padding included.
int64_t read_span(int64_t out, int64_t stride, int64_t k, int64_t dilation) { return (out - 1) * stride + (k - 1) * dilation + 1; }
}  // namespace

// (lowerings.h) A strided 1x1 convolution's gathered input is a quarter of its footprint.
Func padded_input(const LowerContext& ctx, ConvGeometry& g, bool over_read, bool& materialise) {
  const TensorFunc& x = ctx.in(0);
  Var ix("ix"), iy("iy"), c("c"), n("n");
  Func xp(func_name(ctx.node.name + "_padded"));
  if (g.KH == 1 && g.KW == 1 && (g.sx > 1 || g.sy > 1) && g.py == 0 && g.px == 0 && g.group == 1) {
    xp(ix, iy, c, n) = x.f(ix * static_cast<int>(g.sx), iy * static_cast<int>(g.sy), c, n);
    g.sx = g.sy = 1, g.W = g.OW, g.H = g.OH;
    materialise = true;
    return xp;
  }
  if (!over_read && g.py == 0 && g.px == 0 && read_span(g.OH, g.sy, g.KH, g.dy) <= g.H && read_span(g.OW, g.sx, g.KW, g.dx) <= g.W) {
    xp(ix, iy, c, n) = x.f(ix, iy, c, n);
    return xp;
  }
  Expr inside = ix >= 0 && ix < static_cast<int>(g.W) && iy >= 0 && iy < static_cast<int>(g.H);
  Expr v = x.f(Halide::clamp(ix, 0, static_cast<int>(g.W - 1)), Halide::clamp(iy, 0, static_cast<int>(g.H - 1)), c, n);
  xp(ix, iy, c, n) = Halide::select(inside, v, Halide::cast(v.type(), 0));
  materialise = true;
  return xp;
}

int band_rows(int64_t rows, int64_t tasks_per_band) {
  int64_t bands = std::min<int64_t>(rows, (16 + tasks_per_band - 1) / tasks_per_band);
  return static_cast<int>((rows + bands - 1) / bands);
}

int pick_row_tile(int64_t ow) {
  if (ow < 8) return static_cast<int>(ow);
  int best = 8;
  int64_t best_work = (ow + 7) / 8 * 8;
  for (int t = 7; t >= 4; --t) {
    int64_t work = (ow + t - 1) / t * t;
    if (work < best_work) best = t, best_work = work;
  }
  return best;
}

ConvGeometry conv_geometry(const LowerContext& ctx, size_t weights) {
  const TensorFunc &x = ctx.in(0), &w = ctx.in(weights);
  ctx.require(x.rank() == 4 && w.rank() == 4, "only 2-D convolutions have compiled kernels");
  ConvGeometry g{};
  g.N = x.shape[0], g.C = x.shape[1], g.H = x.shape[2], g.W = x.shape[3];
  g.M = w.shape[0], g.KH = w.shape[2], g.KW = w.shape[3];
  g.OH = ctx.out_shape()[2], g.OW = ctx.out_shape()[3];
  g.group = ctx.attrs().get_int("group", 1);
  ctx.require(g.group >= 1 && g.C % g.group == 0 && g.M % g.group == 0 && w.shape[1] == g.C / g.group, "group");
  auto ints = [&](const char* name, int64_t def) {
    std::vector<int64_t> v = ctx.attrs().get_ints(name, {def, def});
    ctx.require(v.size() == 2, name);
    return v;
  };
  std::vector<int64_t> s = ints("strides", 1), d = ints("dilations", 1);
  g.sy = s[0], g.sx = s[1], g.dy = d[0], g.dx = d[1];
  std::string auto_pad = ctx.attrs().get_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    auto lead = [&](int64_t in, int64_t out, int64_t stride, int64_t k, int64_t dil) {
      int64_t total = std::max<int64_t>(0, (out - 1) * stride + (k - 1) * dil + 1 - in);
      return auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    };
    g.py = lead(g.H, g.OH, g.sy, g.KH, g.dy), g.px = lead(g.W, g.OW, g.sx, g.KW, g.dx);
  } else if (auto_pad == "VALID") {
    g.py = g.px = 0;
  } else {
    std::vector<int64_t> pads = ctx.attrs().get_ints("pads", {0, 0, 0, 0});
    ctx.require(pads.size() == 4, "pads");
    g.py = pads[0], g.px = pads[1];
  }
  return g;
}

int channels_tile(int64_t pixels, int64_t out_channels, int64_t in_channels) {
  // Past 256 pixels, partial vectors of pixels waste little; from 64, only a long k loop pays
  // for the stores across channel planes (measured even at 14x14 with 256 input channels).
  if (out_channels % 32 != 0 || pixels >= 256 || (pixels >= 64 && in_channels < 512)) return 0;
  for (int tq = 14; tq >= 6; --tq)
    if (pixels % tq == 0) return tq;
  return 0;
}

int pixel_block(int64_t n) { return n % 32 != 0 && n % 32 <= 16 ? 16 : 32; }

bool conv_reads_flat(const Node& n, const Shape& x, const Shape& w, const Shape& y, DType t) {
  if ((n.op != OpKind::Conv && n.op != OpKind::FusedConv) || t != DType::Float32 || x.size() != 4 || w.size() != 4 ||
      y.size() != 4 || w[2] != 1 || w[3] != 1 || n.attrs.get_int("group", 1) != 1 ||
      (y[2] * y[3] < 64 && !channels_tile(y[2] * y[3], y[1], x[1])))
    return false;
  std::vector<int64_t> pads = n.attrs.get_ints("pads", {});
  return std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; });  // auto_pad pads a 1x1 window nothing
}

float* pack_panels(const float* src, float* dst, int64_t count, int64_t K, int64_t width, int64_t stride_i,
                   int64_t stride_k) {
  for (int64_t p = 0; p < (count + width - 1) / width; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < width; ++j) {
        int64_t i = p * width + j;
        *dst++ = i < count ? src[i * stride_i + k * stride_k] : 0.0f;
      }
  return dst;
}

Func pack_conv_weights(LowerContext& ctx, int tm) {
  const TensorFunc& w = ctx.in(1);
  const int64_t M = w.shape[0];
  if (const Tensor* weights = ctx.constant(1)) {
    const int64_t window = w.shape[1] * w.shape[2] * w.shape[3];  // each channel's (c, ky, kx) run
    Tensor t(DType::Float32, {(M + tm - 1) / tm, w.shape[1], w.shape[2], w.shape[3], tm});
    pack_panels(weights->data<float>(), t.data<float>(), M, window, tm, window, 1);
    return ctx.add_constant(std::move(t), ctx.node.name + "_wpacked").f;
  }
  Var pj("pj"), pkx("pkx"), pky("pky"), pc("pc"), pp("pp");
  Expr mm = pp * tm + pj;
  Func wp(func_name(ctx.node.name + "_wpacked"));
  wp(pj, pkx, pky, pc, pp) = Halide::select(mm < i32(M), w.f(pkx, pky, pc, Halide::min(mm, i32(M - 1))), 0.0f);
  wp.compute_root().vectorize(pj, 8);
  return wp;
}

std::vector<TensorFunc> lower_Conv(LowerContext& ctx) {
  if (ctx.out_shape().size() == 3) return lower_conv_as_gemm(ctx);
  const TensorFunc &x = ctx.in(0), &w = ctx.in(1);
  ctx.require(x.dtype == DType::Float32 && w.dtype == DType::Float32, "compiled convolutions are float32");
  ConvGeometry g = conv_geometry(ctx);
  if (conv_uses_winograd(ctx, g)) return lower_conv_winograd(ctx, g);
  bool materialise = false;
  const bool packed = g.group == 1 && g.M >= 8;
  // Wide rows with a short window sum (input channels x window) are vectorised along the row:
  // outputs stored as whole vectors, 8 channels at a time (mobilenet_v2's first layer, 3
  // channels x 3x3, 28% faster so), and so are strided ones with few input channels (the
  // first layers of image models), which read the input split into phases of columns:
  // resnet50's 7x7 stride-2 layer is 13% faster so than across the channels, whose stores of
  // vectors across channel planes are single floats, and the 3x3 stride-2 first layers of
  // mobilenet_v2 and efficientnet_b0 20% faster than with strided loads. The rest run across
  // the channels of a panel of up to 32, which reads the input fewer times and has more
  // accumulators per load; its stores across channel planes cost little next to a long sum
  // (resnet50's 3x3 layers at 56x56, 64 channels: 17-18% faster than along the row, 1 thread).
  const bool along_row = packed && g.OW >= 32 && (g.C * g.KH * g.KW <= 64 || (g.sx > 1 && g.C <= 4));
  // The other (grouped) convolutions hold blocks of rows in registers, reading past the row
  // end when rows are narrower than a vector (over_read). Strided ones with 5x5 windows or
  // wider read the input split into phases of columns (below); narrower strided windows read
  // strided vectors straight from the padded input, one row's vector in registers at a time
  // (row_vectors): the phases' copy costs as much as it saves there (3x3, stride 2:
  // mobilenet_v2's layers 3-8% slower in the model, 28x28 -> 14x14 alone 40%), and blocks of
  // rows with strided loads hit a Halide 14 codegen bug (an aligned load claimed at an odd
  // offset, on a 9x113 plane).
  const bool phased = g.sx > 1 && ((!packed && g.KW >= 5) || along_row);
  const bool row_vectors = !packed && g.sx > 1 && !phased;
  // Their vectors along the output row: one-row blocks keep 8 lanes for rows under 16 wide.
  const int vec = row_vectors ? (g.OW >= 16 ? 16 : 8) : (g.OW > 8 ? 16 : 8);
  const bool over_read = !packed && g.OW < vec;
  // The phases are computed over whole boxes of (column, phase), up to sx - 1 columns past the
  // last one read: they read a clamped copy too.
  Func xp = padded_input(ctx, g, over_read || phased, materialise);
  const int Cg = static_cast<int>(g.C / g.group), Mg = static_cast<int>(g.M / g.group);
  Var m("m"), ox("ox"), oy("oy"), n("n");
  Func acc(func_name(ctx.node.name + "_acc"));
  Halide::RDom r(0, static_cast<int>(g.KW), 0, static_cast<int>(g.KH), 0, Cg, "r");
  Expr ix = ox * static_cast<int>(g.sx) + r.x * static_cast<int>(g.dx) - static_cast<int>(g.px);
  Expr iy = oy * static_cast<int>(g.sy) + r.y * static_cast<int>(g.dy) - static_cast<int>(g.py);
  // A phased convolution reads its input split into its sx phases of columns (ix mod sx), in
  // which each tap reads a dense run of a row.
  Func phases;
  const int sx = static_cast<int>(g.sx);
  if (phased) {
    Var h("h"), ph("ph"), qy("qy"), qc("qc"), qn("qn");
    phases = Func(func_name(ctx.node.name + "_phases"));
    phases(h, ph, qy, qc, qn) = xp(h * sx + ph, qy, qc, qn);
  }
  auto input_at = [&](Expr c) -> Expr {  // at input channel c, the current pixel and tap
    if (!phased) return xp(ix, iy, c, n);
    Expr off = r.x * static_cast<int>(g.dx) - static_cast<int>(g.px);
    return phases(ox + off / sx, off % sx, iy, c, n);  // Halide's division rounds down
  };
  // Along the row: blocks of row_tile pixels x 256 / row_tile channels. Output channels come
  // in panels of tm, zero-padded.
  const int row_tile = pixel_block(g.OW);
  const int tm = along_row ? 256 / row_tile : g.M >= 32 ? 32 : g.M >= 16 ? 16 : 8;
  if (packed) {
    // wp[p][c][ky][kx][j] = W[p * tm + j][c][ky][kx] (pack_conv_weights).
    Func wp = pack_conv_weights(ctx, tm);
    // m is the channel within panel p; the vectorised dim comes first.
    Var p("p");
    std::vector<Var> args = along_row ? std::vector<Var>{ox, m, oy, n, p} : std::vector<Var>{m, ox, oy, n, p};
    acc(args) = 0.0f;
    acc(args) += input_at(r.z) * wp(m, r.x, r.y, r.z, p);
  } else {
    acc(ox, oy, m, n) = 0.0f;
    acc(ox, oy, m, n) += input_at((m / Mg) * Cg + r.z) * w.f(r.x, r.y, r.z, m);
  }
  auto at_acc = [&](const Exprs& i) {
    if (along_row) return acc(i[3], i[1] % tm, i[2], i[0], i[1] / tm);
    return packed ? acc(i[1] % tm, i[3], i[2], i[0], i[1] / tm) : acc(i[3], i[2], i[1], i[0]);
  };
  TensorFunc y = define(ctx.node.name, ctx.out_shape(), DType::Float32, [&](const Exprs& i) {
    Expr v = at_acc(i);
    if (ctx.has_input(2)) v = v + ctx.in(2).at({i[1]});
    if (ctx.node.op == OpKind::FusedConv) {
      if (ctx.has_input(3)) v = v + broadcast_at(ctx.in(3), ctx.out_shape(), i);
      v = fused_activation(ctx, v, i, ctx.out_shape(), 4);
    }
    return v;
  });
  int tx = pick_row_tile(g.OW);
  const bool depthwise = Cg == 1 && Mg == 1;
  const bool unroll_window = g.KW <= 7 && g.KH <= 7;
  // Across channels with a window and many input channels: accumulate in chunks of them.
  const bool chunk_channels = packed && !along_row && g.KH * g.KW > 1 && Cg >= 32;
  // A depthwise convolution's padded plane larger than L1 (32 KB: 112x112 planes) is padded per
  // band of 8 output rows instead of whole, each band read while it is in L1: 112 -> 56 at
  // stride 2 measured 14-17% faster alone (1 thread) and in mobilenet_v2 and efficientnet_b0
  // (2 threads), 112x112 at stride 1 2-4% (1 thread).
  const int64_t padded_bytes = 4 * read_span(g.OW, g.sx, g.KW, g.dx) * read_span(g.OH, g.sy, g.KH, g.dy);
  const int band = materialise && depthwise && !phased && padded_bytes > 32 * 1024 ? 8 : 0;
  ctx.schedule = [acc, packed, along_row, row_tile, chunk_channels, tx, tm, xp, phases, materialise, depthwise,
                  unroll_window, over_read, row_vectors, vec, band](Func out, const Shape& shape) mutable {
    Var ox = out.args()[0], oy = out.args()[1], m = out.args()[2], n = out.args()[3];
    Halide::Stage u = acc.update();
    Var pix = xp.args()[0];
    // The phases of columns read the padded input inlined (one pass over the image, not two).
    if (materialise && !depthwise && !phases.defined()) xp.compute_root().parallel(xp.args()[2]).vectorize(pix, 16, Halide::TailStrategy::GuardWithIf);
    if (phases.defined() && !depthwise)
      phases.compute_root().parallel(phases.args()[3]).vectorize(phases.args()[0], 16, Halide::TailStrategy::GuardWithIf);
    if (packed) {
      // Tasks of a panel of output channels times a band of rows (band_rows).
      int band = band_rows(shape[2], (shape[1] + tm - 1) / tm * shape[0]);
      Var mo("mo"), mi("mi"), oxo("oxo"), oxi("oxi"), oyo("oyo"), oyi("oyi"), task("task");
      if (along_row) {
        // A block of row_tile pixels x tm channels: 16 vector accumulators, one weight
        // broadcast against each of the block's input vectors per step.
        out.split(m, mo, mi, tm, Halide::TailStrategy::GuardWithIf)
            .split(ox, oxo, oxi, row_tile, Halide::TailStrategy::ShiftInwards)
            .split(oy, oyo, oyi, band, Halide::TailStrategy::GuardWithIf)
            .reorder(oxi, mi, oxo, oyi, oyo, mo, n)
            .vectorize(oxi, 16)
            .unroll(mi)
            .fuse(oyo, mo, task)
            .fuse(task, n, task)
            .parallel(task);
        Var aox = acc.args()[0], am = acc.args()[1], ao("ao"), ai("ai");
        acc.compute_at(out, oxo).vectorize(aox, 16).unroll(am);
        std::vector<Halide::VarOrRVar> order = {aox, am};
        for (const auto& rv : acc.rvars(0)) order.push_back(rv);
        u.reorder(order).split(aox, ao, ai, 16).vectorize(ai).unroll(ao).unroll(am);
        return;
      }
      out.split(m, mo, mi, tm, Halide::TailStrategy::GuardWithIf)
          .split(ox, oxo, oxi, tx, Halide::TailStrategy::ShiftInwards)
          .split(oy, oyo, oyi, band, Halide::TailStrategy::GuardWithIf)
          .reorder(mi, oxi, oxo, oyi, oyo, mo, n)
          .vectorize(mi, std::min(tm, 16))
          .unroll(oxi)
          .fuse(oyo, mo, task)
          .fuse(task, n, task)
          .parallel(task);
      if (chunk_channels) {
        // The task's accumulators stay in memory while the input channels run in chunks of
        // 16, so a chunk's weights (tm x 16 x KH x KW floats, 18 KB for 3x3) stay in L1
        // for all the task's pixels instead of streaming from L2 for each tile of them.
        // Measured 6-8% faster on resnet50's 3x3 layers, on 1 and 2 threads.
        Var am = acc.args()[0], aox = acc.args()[1], aoy = acc.args()[2], amo("amo"), ami("ami"), aoxo("aoxo"),
            aoxi("aoxi");
        std::vector<Halide::RVar> r = acc.rvars(0);
        Halide::RVar rzo("rzo"), rzi("rzi");
        acc.compute_at(out, task).vectorize(am, std::min(tm, 16));
        u.split(am, amo, ami, std::min(tm, 16))
            .split(aox, aoxo, aoxi, tx, Halide::TailStrategy::GuardWithIf)
            .split(r[2], rzo, rzi, 16, Halide::TailStrategy::GuardWithIf)
            .reorder(ami, amo, aoxi, r[0], r[1], rzi, aoxo, aoy, rzo)
            .vectorize(ami)
            .unroll(amo)
            .unroll(aoxi);
        return;
      }
      acc.compute_at(out, oxo).vectorize(acc.args()[0], std::min(tm, 16)).unroll(acc.args()[1]);
      Var am = acc.args()[0], aox = acc.args()[1];
      std::vector<Halide::VarOrRVar> order = {am, aox};
      for (const auto& rv : acc.rvars(0)) order.push_back(rv);
      u.reorder(order);
      Var amo("amo"), ami("ami");
      u.split(am, amo, ami, std::min(tm, 16)).vectorize(ami).unroll(amo).unroll(aox);
    } else {
      // Tasks of whole channel planes, at least ~4K outputs each (a 7x7 plane alone is too
      // little work to hand to a thread). A depthwise convolution pads each input plane in the
      // task that reads it, while it is in cache.
      Var task("task"), plane("plane");
      int planes = static_cast<int>(std::max<int64_t>(1, 4096 / std::max<int64_t>(1, shape[2] * shape[3])));
      Var aox = acc.args()[0], aoy = acc.args()[1];
      std::vector<Halide::RVar> r = acc.rvars(0);
      Var rows_band("rows_band");  // the loop over bands of rows, when banded
      const auto row_tail = over_read ? Halide::TailStrategy::Predicate : Halide::TailStrategy::ShiftInwards;
      if (row_vectors) {
        // One vector per row, its accumulator in registers; the row's last vector shifts
        // inwards, or over-reads rows narrower than a vector. Before, the row's tail ran
        // scalar (GuardWithIf): mobilenet_v2's 56 -> 28, 28 -> 14 and 14 -> 7 layers are 2x
        // faster so (0.122 -> 0.057, 0.046 -> 0.026, 0.056 -> 0.025 ms), 112 -> 56 22%.
        Var oxo("oxo"), oxi("oxi");
        out.split(ox, oxo, oxi, vec, row_tail).vectorize(oxi);
        if (band) out.split(oy, rows_band, oy, band, Halide::TailStrategy::GuardWithIf);
        acc.compute_at(out, oxo).store_in(Halide::MemoryType::Register).bound_extent(aox, vec).vectorize(aox);
        u.reorder(aox, r[0], r[1], r[2]).vectorize(aox);
      } else {
        // Blocks of one vector x up to 4 rows, whose accumulators stay in registers
        // (independent chains) while the window is summed. Measured on 1 thread against one
        // accumulator row in memory: efficientnet_b0's 56x56, 28x28 (5x5) and 14x14 depthwise
        // layers 15-22% faster, all its depthwise layers together 5.00 -> 4.67 ms per run;
        // on 2 threads, rows narrower than a vector (7 and 14 wide, 5x5) 24-35% faster.
        // Rows at least a vector wide shift their last vector inwards; narrower ones predicate
        // it (over_read), the accumulators still covering the whole vector.
        const int rows = static_cast<int>(std::min<int64_t>(4, shape[2]));
        Var oxo("oxo"), oxi("oxi"), oyo("oyo"), oyi("oyi");
        out.split(ox, oxo, oxi, vec, row_tail)
            .split(oy, oyo, oyi, rows, Halide::TailStrategy::ShiftInwards)
            .reorder(oxi, oyi, oxo, oyo)
            .vectorize(oxi)
            .unroll(oyi);
        if (band) out.split(oyo, rows_band, oyo, band / rows, Halide::TailStrategy::GuardWithIf);
        acc.compute_at(out, oxo).store_in(Halide::MemoryType::Register).bound_extent(aox, vec).vectorize(aox).unroll(aoy);
        u.reorder(aox, aoy, r[0], r[1], r[2]).vectorize(aox).unroll(aoy);
      }
      out.fuse(m, n, task).split(task, task, plane, planes, Halide::TailStrategy::GuardWithIf).parallel(task);
      if (materialise && depthwise)
        xp.compute_at(out, band ? rows_band : plane).vectorize(pix, 16, Halide::TailStrategy::GuardWithIf);
      if (phases.defined() && depthwise)
        phases.compute_at(out, plane).vectorize(phases.args()[0], 16, Halide::TailStrategy::GuardWithIf);
      if (unroll_window) u.unroll(r[0]).unroll(r[1]);
    }
  };
  return {y};
}

std::vector<TensorFunc> lower_FusedConv(LowerContext& ctx) { return lower_Conv(ctx); }

}  // namespace nnc::cpu
