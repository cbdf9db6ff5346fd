// Lowerings of the linear ops — MatMul, Gemm, their fused forms (bias, residual add and
// activation in the epilogue), FusedAdd, and 1x1 convolutions over flattened images — with
// the register-blocked GEMM schedule: the output is tiled into 32×8 blocks (two 16-float
// vectors × 8 rows; 16×16 for some 1x1 convolutions); each block's accumulator stays in
// registers while a chunk of the k loop runs, and the epilogue is applied when the block is
// stored. Other convolutions are in lower_conv.cpp.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

namespace {

// Fuses `outer` with out's batch dims (its arguments past the two innermost), for one
// parallel loop over both.
Var fuse_batch_dims(Func out, Var outer, int rank) {
  for (int d = 2; d < rank; ++d) {
    Var f("par" + std::to_string(d));
    out.fuse(outer, out.args()[d], f);
    outer = f;
  }
  return outer;
}

// Tiles out's two innermost dims (n, m) and computes acc (a Func over the same dims with
// one update that reduces over k) per tile, vectorised along n and unrolled over m.
void schedule_gemm(Func out, Func acc, const Shape& shape) {
  int rank = static_cast<int>(shape.size());
  if (rank == 0) return;
  Var n = out.args()[0];
  int64_t N = shape[rank - 1], M = rank >= 2 ? shape[rank - 2] : 1;
  int tn = N >= 32 ? 32 : N >= 16 ? 16 : static_cast<int>(N);
  int tm = M >= 8 ? 8 : static_cast<int>(M);
  Var no("no"), ni("ni"), mo("mo"), mi("mi");
  if (rank >= 2) {
    Var m = out.args()[1];
    out.tile(n, m, no, mo, ni, mi, tn, tm, Halide::TailStrategy::ShiftInwards);
    if (tn >= 16) out.vectorize(ni, 16);
    out.unroll(mi);
    // One parallel loop over row blocks and batch entries, or over column blocks when
    // there are too few rows to share.
    Var par = fuse_batch_dims(out, mo, rank);
    int64_t row_tasks = (M + tm - 1) / tm;
    for (int d = 0; d + 2 < rank; ++d) row_tasks *= shape[d];
    if (row_tasks >= 4) out.parallel(par);
    else out.reorder(ni, mi, par, no).parallel(no);
    acc.compute_at(out, no);
  } else {
    out.split(n, no, ni, tn, Halide::TailStrategy::ShiftInwards);
    if (tn >= 16) out.vectorize(ni, 16);
    acc.compute_at(out, no);
  }
  Var an = acc.args()[0];
  acc.vectorize(an, tn >= 16 ? 16 : std::max(tn, 1));
  std::vector<Halide::VarOrRVar> order;
  order.push_back(an);
  if (rank >= 2) order.push_back(acc.args()[1]);
  Halide::Stage u = acc.update();
  for (const auto& rv : acc.rvars(0)) order.push_back(rv);
  u.reorder(order);
  if (tn >= 16) {
    Var ao("ao"), ai("ai");
    u.split(an, ao, ai, 16).vectorize(ai).unroll(ao);
  }
  if (rank >= 2) u.unroll(acc.args()[1]);
}

struct MatMulParts {
  std::function<Expr(const Exprs&)> at;  // the product at an ONNX-order output index
  Func reduce;                           // the Func with the update (the reduction over k)
  int panel = 0;                         // the blocked schedule's panel width; 0: schedule_gemm
  bool packed = false;                   // B packed into panels (acc(j, m, batch..., p))
  int64_t K = 0;                         // the reduction's extent
  Func b_copy;                           // B read in place: copied per panel and k chunk
  bool batch_rows = false;               // A [b, 1, K] times an unbatched B: the batch is the rows
  int tile_rows = 8;                     // rows of A per register tile (the blocked schedule)
  Halide::Internal::Parameter residual{};  // the epilogue's residual input, prefetched per tile
};

// The blocked GEMM schedule. B is read in panels of `panel` columns: packed
// (acc(j, m, batch..., p) holds column p * panel + j) or in place (acc(n, m, batch...), the
// last panel shifted inwards). In place, `b_copy` (when defined) is a copy of B made per panel
// and k chunk, so the inner loop reads one aligned, contiguous block whatever B's row length:
// measured 10-25% faster on 1x1 convolutions, most on 14x14 images, whose rows of 196 floats
// start mid cache line. Each task is one panel (up to 4 when panels are small) times a block
// of up to 256 rows of A. Up to K = 2048 each tile's accumulators (parts.tile_rows rows x the
// panel) stay in registers over the whole k loop while the panel (up to 256 KB, one contiguous
// run) streams from L2, and the epilogue stores them directly. Past that the block's
// accumulators stay in L2 and the k loop runs in chunks of 2048. Measured against chunks of 256
// (32 KB of the panel in L1, the accumulators through a task-wide buffer): the SwiGLU block's
// MatMuls (K = 512 and 1376, 128 rows) 4-6% faster on 2 threads; 1x1 convolutions of 512 and
// 1024 input channels at 28x28 and 14x14 3-4% faster on 1 and 2 threads.
void schedule_blocked_gemm(Func out, const MatMulParts& parts, const Shape& shape) {
  Func acc = parts.reduce, b_copy = parts.b_copy;
  const int64_t K = parts.K;
  const int panel = parts.panel;
  const bool packed = parts.packed, batch_rows = parts.batch_rows;
  int rank = static_cast<int>(shape.size());
  int64_t N = shape[rank - 1], M = shape[rank - 2], batch = 1;
  for (int d = 0; d + 2 < rank; ++d) batch *= shape[d];
  // [b, 1, K] x [K, N]: the batch is the rows (out's and acc's third dim), blocked as M would be.
  const int row_dim = batch_rows ? 2 : 1;
  if (batch_rows) M = batch, batch = 1;
  const int tm = static_cast<int>(std::min<int64_t>(parts.tile_rows, M));
  // Enough row blocks for about 8 tasks when there are few panels.
  int64_t col_tasks = (N + panel - 1) / panel * batch;
  int64_t blocks = std::max<int64_t>((M + 255) / 256, std::min<int64_t>((8 + col_tasks - 1) / col_tasks, M / (4 * tm)));
  int block = static_cast<int>(std::min<int64_t>(M, ((M + blocks - 1) / blocks + tm - 1) / tm * tm));
  Var n = out.args()[0], m = out.args()[row_dim];
  Var no("no"), ni("ni"), mb("mb"), mr("mr"), mo("mo"), mi("mi");
  const int kc = 2048;
  // Tasks of up to 4 consecutive panels when one panel is little work (under 256K multiply-adds)
  // and there are many: each thread then reads and writes longer runs of every channel row.
  // Measured on mobilenet_v2's 1x1 convolutions at 112x112 and 56x56 (16-32 input channels),
  // 2 threads: 10-30% faster; resnet50's at 56x56 (64-256 channels, 512K a panel) lose 5-10%.
  const int64_t panel_work = block * K * panel, wanted = std::min<int64_t>(4, (262143 + panel_work) / panel_work);
  const int pg = K <= kc ? static_cast<int>(std::clamp<int64_t>(col_tasks / 16, 1, wanted)) : 1;
  Var nog("nog"), noi("noi");
  out.split(n, no, ni, panel, packed ? Halide::TailStrategy::GuardWithIf : Halide::TailStrategy::ShiftInwards)
      .split(m, mb, mr, block, Halide::TailStrategy::ShiftInwards)
      .split(mr, mo, mi, tm, Halide::TailStrategy::ShiftInwards)
      .split(no, nog, noi, pg, Halide::TailStrategy::GuardWithIf)
      .reorder(ni, mi, mo, noi, nog, mb)
      .vectorize(ni, 16)
      .unroll(mi);
  Var task = batch_rows ? mb : fuse_batch_dims(out, mb, rank);
  out.fuse(nog, task, task).parallel(task);
  Var j = acc.args()[0], am = acc.args()[row_dim], jo("jo"), ji("ji"), amo("amo"), ami("ami");
  acc.vectorize(j, 16);
  Halide::RVar k = acc.rvars(0)[0], ko("ko"), ki("ki");
  if (K <= kc) {
    // One chunk: each tile's accumulators stay in registers over the whole k loop and
    // the epilogue stores them directly, without the pass through a task-wide buffer
    // (measured 11-29% faster on 1x1 convolutions with 64-256 input channels, 1 thread).
    // The epilogue's residual rows are prefetched as the tile starts, so they arrive during
    // its k loop: a tile's rows (8 of 32 floats, or 16 of 16) lie in as many channel planes,
    // too far apart for the hardware prefetchers. resnet50's 1x1 convolutions at 56x56 and
    // 28x28 with a residual add measured 4-8% faster in the model (2 threads); the rest, and
    // MatMuls, unchanged.
    if (parts.residual.defined())
      out.prefetch(parts.residual, mo, mo, 0, Halide::PrefetchBoundStrategy::NonFaulting);
    acc.compute_at(out, mo).unroll(am);
    acc.update().split(j, jo, ji, 16).reorder(ji, jo, am, k).vectorize(ji).unroll(jo).unroll(am);
    if (b_copy.defined()) b_copy.compute_at(out, task).vectorize(b_copy.args()[0], 16);
    return;
  }
  acc.compute_at(out, task);
  acc.update()
      .split(j, jo, ji, 16)
      .split(am, amo, ami, tm, Halide::TailStrategy::GuardWithIf)
      .split(k, ko, ki, kc, Halide::TailStrategy::GuardWithIf)
      .reorder(ji, jo, ami, ki, amo, ko)
      .vectorize(ji)
      .unroll(jo)
      .unroll(ami);
  if (b_copy.defined()) b_copy.compute_at(acc, ko).vectorize(b_copy.args()[0], 16);
}

// B' (K x N after Gemm's transB, with B's batch dims) re-packed into panels of `panel`
// columns, [batch...][P][K][panel] and zero past N, so the GEMM's inner loop reads one
// contiguous row of the panel per k. Constant float weights are packed at compile time,
// anything else once per call.
Func pack_b(LowerContext& ctx, const TensorFunc& B, bool tb, int64_t K, int64_t N, int panel) {
  int rb = B.rank();
  int64_t P = (N + panel - 1) / panel, batch = 1;
  for (int d = 0; d + 2 < rb; ++d) batch *= B.shape[d];
  const Tensor* weights = ctx.constant(1);  // B is the node's input 1
  if (weights && B.dtype == DType::Float32) {
    Shape packed(B.shape.begin(), B.shape.end() - 2);
    packed.insert(packed.end(), {P, K, panel});
    Tensor t(DType::Float32, packed);
    float* dst = t.data<float>();
    for (int64_t b = 0; b < batch; ++b)  // B' column n, row k: B[n][k] with transB, else B[k][n]
      dst = pack_panels(weights->data<float>() + b * K * N, dst, N, K, panel, tb ? K : 1, tb ? 1 : N);
    return ctx.add_constant(std::move(t), ctx.node.name + "_bpacked").f;
  }
  Var j("j"), k("pk"), p("pp");
  std::vector<Var> bv = onnx_vars(rb - 2, "pb");  // B's batch dims, ONNX order
  Expr n = p * panel + j, nc = Halide::min(n, static_cast<int>(N - 1));
  Exprs idx(bv.begin(), bv.end());
  idx.push_back(tb ? nc : Expr(k));
  idx.push_back(tb ? Expr(k) : nc);
  std::vector<Var> args = {j, k, p};
  args.insert(args.end(), bv.rbegin(), bv.rend());
  Func bp(func_name(ctx.node.name + "_bpacked"));
  Expr v = B.at(idx);
  bp(args) = Halide::select(n < static_cast<int>(N), v, Halide::cast(v.type(), 0));
  bp.compute_root().vectorize(j, 16, Halide::TailStrategy::GuardWithIf).parallel(p);
  return bp;
}

// acc = A' · B' with numpy batch broadcasting; A' is A or Aᵀ (Gemm's transA), same for B.
MatMulParts matmul(LowerContext& ctx, const TensorFunc& A, const TensorFunc& B, bool ta, bool tb, const Shape& out) {
  Halide::Type t = halide_type(A.dtype);
  ctx.require(A.dtype == B.dtype, "mixed input types");
  int ra = A.rank(), rb = B.rank(), r = static_cast<int>(out.size());
  ctx.require(ra >= 1 && rb >= 1 && (ra >= 2 || !ta) && (rb >= 2 || !tb), "operand ranks");
  int64_t K = ra == 1 ? A.shape[0] : (ta ? A.shape[ra - 2] : A.shape[ra - 1]);
  int64_t KB = rb == 1 ? B.shape[0] : (tb ? B.shape[rb - 1] : B.shape[rb - 2]);
  ctx.require(K == KB && K > 0, "inner dimensions differ");
  Halide::RDom k(0, static_cast<int>(K), "k");
  int batch = r - (ra >= 2 ? 1 : 0) - (rb >= 2 ? 1 : 0);
  Shape batch_shape(out.begin(), out.begin() + batch);
  auto batch_index = [&](const TensorFunc& T, const Exprs& o) {
    Shape tb_shape(T.shape.begin(), T.shape.end() - 2);
    Exprs ob(o.begin(), o.begin() + batch);
    return tb_shape.empty() ? Exprs{} : broadcast_index(tb_shape, batch_shape, ob);
  };
  auto operand = [&](const TensorFunc& T, bool is_a, bool t, const Exprs& o) {
    if (T.rank() == 1) return T.at({k});
    Expr row = is_a ? o[r - (rb >= 2 ? 2 : 1)] : Expr(k);
    Expr col = is_a ? Expr(k) : o[r - 1];
    Exprs idx = batch_index(T, o);
    if (t) std::swap(row, col);
    idx.push_back(row);
    idx.push_back(col);
    return T.at(idx);
  };
  Func acc(func_name(ctx.node.name + "_acc"));
  int64_t N = out[r - 1];
  if (ra >= 2 && rb >= 2 && N >= 16) {
    // acc(j, m, batch..., p) holds output column p * panel + j.
    int panel = N >= 32 ? 32 : 16;
    Func bp = pack_b(ctx, B, tb, K, N, panel);
    Var j("j"), m("m"), p("p");
    std::vector<Var> ob = onnx_vars(batch, "o");
    Exprs o(ob.begin(), ob.end());
    o.push_back(m);
    o.push_back(Expr());  // the column: not used by A
    std::vector<Var> args = {j, m};
    args.insert(args.end(), ob.rbegin(), ob.rend());
    args.push_back(p);
    Exprs b_args = {j, k, p};
    Exprs bb = batch_index(B, o);
    b_args.insert(b_args.end(), bb.rbegin(), bb.rend());
    acc(args) = Halide::cast(t, 0);
    acc(args) += operand(A, true, ta, o) * bp(b_args);
    auto at = [acc, panel, r](const Exprs& i) {
      Exprs a = {i[r - 1] % panel, i[r - 2]};
      for (int d = r - 3; d >= 0; --d) a.push_back(i[d]);
      a.push_back(i[r - 1] / panel);
      return Expr(acc(a));
    };
    return {at, acc, panel, true, K, {}, r == 3 && rb == 2 && out[1] == 1 && out[0] >= 8};
  }
  std::vector<Var> v = onnx_vars(r, "o");
  Exprs o(v.begin(), v.end());
  std::vector<Var> hv(v.rbegin(), v.rend());
  acc(hv) = Halide::cast(t, 0);
  acc(hv) += operand(A, true, ta, o) * operand(B, false, tb, o);
  return {[acc](const Exprs& i) { return Expr(acc(Exprs(i.rbegin(), i.rend()))); }, acc, 0, false, K, {}};
}

// The result of a linear op: body(index, product) defines each element of the output
// (bias, scale, residual add and activation), computed per GEMM tile.
std::vector<TensorFunc> finish(LowerContext& ctx, const MatMulParts& p,
                               const std::function<Expr(const Exprs&, Expr)>& body) {
  TensorFunc y = define(ctx.node.name, ctx.out_shape(), ctx.out_dtype(), [&](const Exprs& i) { return body(i, p.at(i)); });
  ctx.schedule = [p](Func out, const Shape& shape) {
    if (p.panel) schedule_blocked_gemm(out, p, shape);
    else schedule_gemm(out, p.reduce, shape);
  };
  return {y};
}

// Fused ops' residual input Z (after the base op's inputs), added before the activation.
Expr residual(const LowerContext& ctx, size_t z_input, const Exprs& i, Expr v) {
  if (!ctx.has_input(z_input)) return v;
  return v + broadcast_at(ctx.in(z_input), ctx.out_shape(), i);
}

std::vector<TensorFunc> lower_matmul_like(LowerContext& ctx, bool fused) {
  MatMulParts p = matmul(ctx, ctx.in(0), ctx.in(1), false, false, ctx.out_shape());
  return finish(ctx, p, [&](const Exprs& i, Expr v) {
    if (!fused) return v;
    return fused_activation(ctx, residual(ctx, 2, i, v), i, ctx.out_shape(), 3);
  });
}

std::vector<TensorFunc> lower_gemm_like(LowerContext& ctx, bool fused) {
  const TensorFunc &A = ctx.in(0), &B = ctx.in(1);
  ctx.require(A.rank() == 2 && B.rank() == 2, "Gemm takes matrices");
  bool ta = ctx.attrs().get_int("transA", 0) != 0, tb = ctx.attrs().get_int("transB", 0) != 0;
  float alpha = ctx.attrs().get_float("alpha", 1.0f), beta = ctx.attrs().get_float("beta", 1.0f);
  MatMulParts p = matmul(ctx, A, B, ta, tb, ctx.out_shape());
  Halide::Type t = halide_type(A.dtype);
  return finish(ctx, p, [&](const Exprs& i, Expr v) {
    if (alpha != 1.0f) v = v * Halide::cast(t, alpha);
    if (ctx.has_input(2) && beta != 0.0f) {
      Expr c = broadcast_at(ctx.in(2), ctx.out_shape(), i);
      v = v + (beta == 1.0f ? c : c * Halide::cast(t, beta));
    }
    if (!fused) return v;
    return fused_activation(ctx, residual(ctx, 3, i, v), i, ctx.out_shape(), 4);
  });
}

}  // namespace

std::vector<TensorFunc> lower_MatMul(LowerContext& ctx) { return lower_matmul_like(ctx, false); }
std::vector<TensorFunc> lower_FusedMatMul(LowerContext& ctx) { return lower_matmul_like(ctx, true); }
std::vector<TensorFunc> lower_Gemm(LowerContext& ctx) { return lower_gemm_like(ctx, false); }
std::vector<TensorFunc> lower_FusedGemm(LowerContext& ctx) { return lower_gemm_like(ctx, true); }

// The pixels a strided 1x1 convolution reads from x [N, C, H, W], gathered densely into
// [N, C, OH * OW] (a quarter of the image at stride 2), at root.
Func gather_strided(const LowerContext& ctx, const TensorFunc& x) {
  std::vector<int64_t> s = ctx.attrs().get_ints("strides", {1, 1});
  ctx.require(s.size() == 2 && s[0] >= 1 && s[1] >= 1, "strides");
  const int64_t OH = (x.shape[2] - 1) / s[0] + 1, OW = (x.shape[3] - 1) / s[1] + 1;  // any auto_pad: no pads
  ctx.require(OH * OW == ctx.out_shape()[2], "output size");
  Var q("q"), c("c"), n("n"), row("row"), col("col");
  Func g(func_name(ctx.node.name + "_gathered"));
  g(q, c, n) = x.f(q % i32(OW) * i32(s[1]), q / i32(OW) * i32(s[0]), c, n);
  // Row by row, so the row and column are loop counters rather than divisions.
  g.compute_root().split(q, row, col, static_cast<int>(OW)).vectorize(col, 16, Halide::TailStrategy::GuardWithIf).parallel(c);
  return g;
}

// A flattened 1x1 convolution's epilogue at output index i: bias, then FusedConv's residual
// and activation.
Expr flat_conv_epilogue(const LowerContext& ctx, const Exprs& i, Expr v) {
  if (ctx.has_input(2)) v = v + ctx.in(2).at({i[1]});
  if (ctx.node.op != OpKind::FusedConv) return v;
  return fused_activation(ctx, residual(ctx, 3, i, v), i, ctx.out_shape(), 4);
}

// The schedule of conv_as_channels_gemm: one task per block of cw output channels (and image,
// and block of pixels when there are few channel blocks), holding the block's accumulators for
// its pixels; the k loop runs in chunks of 128, so a chunk of the block's weights (cw x 128
// floats, up to 32 KB) stays in L1 while each tile of tq pixels accumulates over it in registers
// (cw / 16 x tq vectors: 28 at 32 x 14 or 64 x 7). A task over part of the pixels reads short
// runs of 128 channel rows per chunk, which the hardware prefetchers do not follow; it copies
// them into one run first (image_chunk), measured 18% faster in mobilenet_v2's 576 -> 96
// convolutions at 14x14. Whole rows need no copy: there it measured 5-10% slower.
void schedule_channels_gemm(Func out, Func acc, Func image_chunk, int tq, int cw, int block_pixels) {
  Var q = out.args()[0], co = out.args()[1], n = out.args()[2];
  Var p("p"), j("j"), jo("jo"), ji("ji"), qb("qb"), qr("qr"), qo("qo"), qi("qi"), pq("pq"), task("task");
  out.split(co, p, j, cw)
      .split(q, qb, qr, block_pixels, Halide::TailStrategy::ShiftInwards)
      .split(qr, qo, qi, tq, Halide::TailStrategy::ShiftInwards)
      .reorder(j, qi, qo, qb, p, n)
      .split(j, jo, ji, 16)
      .vectorize(ji)
      .unroll(jo)
      .unroll(qi)
      .fuse(qb, p, pq)
      .fuse(pq, n, task)
      .parallel(task);
  Var aj = acc.args()[0], aq = acc.args()[1], ajo("ajo"), aji("aji"), aqo("aqo"), aqi("aqi");
  Halide::RVar k = acc.rvars(0)[0], ko("ko"), ki("ki");
  acc.compute_at(out, task).vectorize(aj, 16);
  acc.update()
      .split(aj, ajo, aji, 16)
      .split(aq, aqo, aqi, tq, Halide::TailStrategy::GuardWithIf)  // tq divides the pixel count
      .split(k, ko, ki, 128, Halide::TailStrategy::GuardWithIf)
      .reorder(aji, ajo, aqi, ki, aqo, ko)
      .vectorize(aji)
      .unroll(ajo)
      .unroll(aqi);
  if (image_chunk.defined())
    image_chunk.compute_at(acc, ko).vectorize(image_chunk.args()[0], 16, Halide::TailStrategy::GuardWithIf);
}

// A 1x1 convolution over a small image (channels_tile) as a GEMM with the output channels as
// the vector dimension: acc(j, q, p, n) is output channel p * cw + j at pixel q, from the
// weights packed into panels of cw channels ([M/cw][C][cw]) and broadcasts of the image's
// pixels. No pixels are wasted on partial vectors (a 7x7 image fills 64 columns of 16-pixel
// vectors for 49), at the price of storing each tile across the channel planes: measured 10-20%
// faster on resnet50's 1x1 convolutions at 14x14 with 1024 input channels and at 7x7.
std::vector<TensorFunc> conv_as_channels_gemm(LowerContext& ctx, Func image, int tq) {
  const Shape& out = ctx.out_shape();
  int cw = tq <= 7 && out[1] % 64 == 0 ? 64 : 32;  // cw divides the output channels
  // Few channel blocks also split the pixels (in whole tiles, two at least), so two to eight
  // threads share the work evenly: 576 -> 96 at 14x14 has 3 channel blocks, 21 tasks.
  const int64_t tiles = out[2] / tq;
  auto parts_for = [&](int64_t blocks) {
    int64_t parts = 1;  // the fewest parts that make 8 tasks, or the most
    for (int64_t d = 2; blocks * parts < 8 && d <= tiles / 2; ++d)
      if (tiles % d == 0) parts = d;
    return parts;
  };
  // An odd handful of blocks whose pixels do not split (a 7x7 image is 7 tiles of 7) keeps
  // one of two threads busy a block longer than the other: halved blocks share evenly.
  // mobilenet_v2's 960 -> 320 at 7x7 (5 blocks of 64) measured 11% faster so, its
  // 960 -> 160 (5 blocks of 32) 13% (2 threads).
  if (out[1] / cw % 2 == 1 && out[1] / cw < 8 && parts_for(out[1] / cw) == 1) cw /= 2;
  const int64_t blocks = out[1] / cw, parts = parts_for(blocks);
  const int block_pixels = static_cast<int>(tiles / parts * tq);
  Func wt = pack_conv_weights(ctx, cw);
  Halide::RDom k(0, static_cast<int>(ctx.in(1).shape[1]), "k");
  Var j("j"), q("q"), p("p"), n("n"), c("c");
  Func image_chunk;
  if (parts > 1) {
    image_chunk = Func(func_name(ctx.node.name + "_chunk"));
    image_chunk(q, c, n) = image(q, c, n);
  }
  Func acc(func_name(ctx.node.name + "_acc"));
  acc(j, q, p, n) = 0.0f;
  acc(j, q, p, n) += wt(j, 0, 0, k, p) * (parts > 1 ? image_chunk : image)(q, k, n);
  TensorFunc y = define(ctx.node.name, out, ctx.out_dtype(), [&](const Exprs& i) {
    return flat_conv_epilogue(ctx, i, acc(i[1] % cw, i[2], i[1] / cw, i[0]));
  });
  ctx.schedule = [acc, image_chunk, tq, cw, block_pixels](Func o, const Shape&) {
    schedule_channels_gemm(o, acc, image_chunk, tq, cw, block_pixels);
  };
  return {y};
}

// A 1x1 unpadded convolution whose output the compiler presents flattened (conv_reads_flat):
// y[n][m][q] = sum_c W[m][c] x[n][c][q] + bias, a GEMM of the constant weights (A, M x C)
// and the image (B, C x OH*OW; gathered first when strided, and copied per panel), so pixels
// fill whole vectors whatever the row width. Small images vectorise along the output channels
// instead (channels_tile, conv_as_channels_gemm).
std::vector<TensorFunc> lower_conv_as_gemm(LowerContext& ctx) {
  const TensorFunc &x = ctx.in(0), &w = ctx.in(1);
  const Shape& out = ctx.out_shape();
  ctx.require((x.rank() == 3 || x.rank() == 4) && w.rank() == 4 && out.size() == 3 && x.dtype == DType::Float32 &&
                  w.dtype == DType::Float32,
              "a flattened 1x1 convolution");
  Func image = x.rank() == 4 ? gather_strided(ctx, x) : x.f;
  if (int tq = channels_tile(out[2], out[1], x.shape[1])) return conv_as_channels_gemm(ctx, image, tq);
  const Tensor* weights = ctx.constant(1);
  const int C = static_cast<int>(x.shape[1]);
  Halide::RDom k(0, C, "k");
  Var q("q"), m("m"), n("n");
  Func acc(func_name(ctx.node.name + "_acc"));
  // The weights of each group of 8 output channels, interleaved ([M/8][C][8]), so each k's
  // broadcasts come from one 32-byte run.
  Expr wv = w.f(0, 0, k, m);
  if (weights) wv = pack_conv_weights(ctx, 8)(m % 8, 0, 0, k, m / 8);
  Var c("c");
  Func b_copy(func_name(ctx.node.name + "_bcopy"));
  b_copy(q, c, n) = image(q, c, n);
  acc(q, m, n) = 0.0f;
  acc(q, m, n) += wv * b_copy(q, k, n);
  // Panels of 32 or 16 pixels (pixel_block): 14x14 and 28x28 images then recompute 12 and 0
  // pixels instead of 28 and 16; resnet50's 256 -> 1024 convolutions at 14x14 with a residual
  // add measured 5-10% faster so, 128 -> 512 at 28x28 2-3% (2 threads).
  const int panel = pixel_block(out[2]);
  MatMulParts p{[acc](const Exprs& i) { return Expr(acc(i[2], i[1], i[0])); }, acc, panel, false, C, b_copy};
  p.tile_rows = 256 / panel;
  if (ctx.node.op == OpKind::FusedConv && ctx.has_input(3)) p.residual = ctx.in(3).param;
  return finish(ctx, p, [&](const Exprs& i, Expr v) { return flat_conv_epilogue(ctx, i, v); });
}

// FusedAdd: activation(a + b [+ Z]).
std::vector<TensorFunc> lower_FusedAdd(LowerContext& ctx) {
  const Shape& out = ctx.out_shape();
  halide_type(ctx.in(0).dtype);
  return {define(ctx.node.name, out, ctx.out_dtype(), [&](const Exprs& i) {
    Expr v = broadcast_at(ctx.in(0), out, i) + broadcast_at(ctx.in(1), out, i);
    return fused_activation(ctx, residual(ctx, 2, i, v), i, out, 3);
  })};
}

}  // namespace nnc::cpu
