// Lowerings of the linear ops — MatMul, Gemm, their fused forms (bias, residual add and
// activation in the epilogue) and FusedAdd — with the register-blocked GEMM schedule:
// the output is tiled into 32×8 blocks (two 16-float vectors × 8 rows); each block's
// accumulator stays in registers while the k loop runs, and the epilogue is applied when
// the block is stored. Convolutions are in lower_conv.cpp.
#include "codegen/cpu/lowerings.h"

namespace nnc::cpu {

namespace {

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
    Var par = mo;
    for (int d = 2; d < rank; ++d) {
      Var f("par" + std::to_string(d));
      out.fuse(par, out.args()[d], f);
      par = f;
    }
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
  TensorFunc acc;  // the product, with the reduction over k
  Func reduce;     // the Func with the update (acc.f)
};

// acc = A' · B' with numpy batch broadcasting; A' is A or Aᵀ (Gemm's transA), same for B.
MatMulParts matmul(LowerContext& ctx, const TensorFunc& A, const TensorFunc& B, bool ta, bool tb, const Shape& out) {
  halide_type(A.dtype);
  ctx.require(A.dtype == B.dtype, "mixed input types");
  int ra = A.rank(), rb = B.rank(), r = static_cast<int>(out.size());
  ctx.require(ra >= 1 && rb >= 1 && (ra >= 2 || !ta) && (rb >= 2 || !tb), "operand ranks");
  int64_t K = ra == 1 ? A.shape[0] : (ta ? A.shape[ra - 2] : A.shape[ra - 1]);
  int64_t KB = rb == 1 ? B.shape[0] : (tb ? B.shape[rb - 1] : B.shape[rb - 2]);
  ctx.require(K == KB && K > 0, "inner dimensions differ");
  Halide::RDom k(0, static_cast<int>(K), "k");
  int batch = r - (ra >= 2 ? 1 : 0) - (rb >= 2 ? 1 : 0);
  Shape batch_shape(out.begin(), out.begin() + batch);
  auto operand = [&](const TensorFunc& T, bool is_a, bool t, const Exprs& o) {
    int rt = T.rank();
    if (rt == 1) return T.at({k});
    Expr row = is_a ? o[r - (rb >= 2 ? 2 : 1)] : Expr(k);
    Expr col = is_a ? Expr(k) : o[r - 1];
    Exprs idx;
    Shape tb_shape(T.shape.begin(), T.shape.end() - 2);
    Exprs ob(o.begin(), o.begin() + batch);
    if (!tb_shape.empty()) idx = broadcast_index(tb_shape, batch_shape, ob);
    if (t) std::swap(row, col);
    idx.push_back(row);
    idx.push_back(col);
    return T.at(idx);
  };
  std::vector<Var> v = onnx_vars(r, "o");
  Exprs o(v.begin(), v.end());
  std::vector<Var> hv(v.rbegin(), v.rend());
  Func acc(func_name(ctx.node.name + "_acc"));
  Halide::Type t = halide_type(A.dtype);
  acc(hv) = Halide::cast(t, 0);
  acc(hv) += operand(A, true, ta, o) * operand(B, false, tb, o);
  return {TensorFunc{acc, out, A.dtype}, acc};
}

// The result of a linear op: body(index, product) defines each element of the output
// (bias, scale, residual add and activation), computed per GEMM tile.
std::vector<TensorFunc> finish(LowerContext& ctx, const MatMulParts& p,
                               const std::function<Expr(const Exprs&, Expr)>& body) {
  TensorFunc y = define(ctx.node.name, ctx.out_shape(), ctx.out_dtype(), [&](const Exprs& i) { return body(i, p.acc.at(i)); });
  Func reduce = p.reduce;
  ctx.schedule = [reduce](Func out, const Shape& shape) { schedule_gemm(out, reduce, shape); };
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
