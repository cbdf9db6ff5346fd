// Gemm and MatMul reference kernels (accumulating in double).
#include "runtime/ref/kernels.h"

namespace nnc {
namespace {

// C[m,n] = sum_k A[m,k] * B[k,n] for one matrix, A and B given with explicit strides.
template <class T>
void matmul_2d(const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs, int64_t b_cs, double* c,
               int64_t M, int64_t N, int64_t K) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += static_cast<double>(static_cast<compute_t<T>>(a[m * a_rs + k * a_cs])) *
             static_cast<double>(static_cast<compute_t<T>>(b[k * b_rs + n * b_cs]));
      c[m * N + n] = s;
    }
}

}  // namespace

// Y = alpha * op(A) * op(B) + beta * C, C broadcast to [M, N].
Tensors ref_Gemm(const KernelContext& ctx) {
  const Tensor& A = ctx.in(0);
  const Tensor& B = ctx.in(1);
  ctx.require(A.rank() == 2 && B.rank() == 2, "A and B must be 2-D, got " + shape_str(A.shape()) + " and " + shape_str(B.shape()));
  ctx.require(A.dtype() == B.dtype(), "A and B have different element types");
  bool ta = ctx.attrs().get_int("transA", 0) != 0, tb = ctx.attrs().get_int("transB", 0) != 0;
  double alpha = ctx.attrs().get_float("alpha", 1.0f), beta = ctx.attrs().get_float("beta", 1.0f);
  int64_t M = ta ? A.dim(1) : A.dim(0), K = ta ? A.dim(0) : A.dim(1);
  int64_t Kb = tb ? B.dim(1) : B.dim(0), N = tb ? B.dim(0) : B.dim(1);
  ctx.require(K == Kb, "inner dimensions differ: " + shape_str(A.shape()) + " x " + shape_str(B.shape()));
  Tensor Y(A.dtype(), {M, N});
  std::vector<double> acc(static_cast<size_t>(Y.numel()));
  visit_numeric(ctx, A.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    matmul_2d(A.data<T>(), ta ? 1 : K, ta ? M : 1, B.data<T>(), tb ? 1 : N, tb ? K : 1, acc.data(), M, N, K);
  });
  const Tensor* C = ctx.has_input(2) ? &ctx.in(2) : nullptr;
  if (C) {
    Shape bs = broadcast_shapes(ctx, C->shape(), {M, N});
    ctx.require(bs == Shape({M, N}), "C of shape " + shape_str(C->shape()) + " does not broadcast to [M,N]");
  }
  BroadcastMap cmap(C ? C->shape() : Shape{}, {M, N});
  for (int64_t i = 0; i < Y.numel(); ++i) {
    double v = alpha * acc[i];
    if (C) v += beta * C->at_double(cmap(i));
    Y.set_double(i, v);
  }
  return {std::move(Y)};
}

// numpy matmul: 1-D operands are promoted (and the added dim removed), batch dims broadcast.
Tensors ref_MatMul(const KernelContext& ctx) {
  const Tensor& A = ctx.in(0);
  const Tensor& B = ctx.in(1);
  ctx.require(A.rank() >= 1 && B.rank() >= 1, "MatMul operands must have rank >= 1");
  ctx.require(A.dtype() == B.dtype(), "A and B have different element types");
  Shape as = A.shape(), bs = B.shape();
  bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  int64_t M = as[as.size() - 2], K = as.back(), Kb = bs[bs.size() - 2], N = bs.back();
  ctx.require(K == Kb, "inner dimensions differ: " + shape_str(A.shape()) + " x " + shape_str(B.shape()));
  Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  Shape batch = broadcast_shapes(ctx, a_batch, b_batch);
  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(M);
  if (!b_vec) out_shape.push_back(N);
  Tensor Y(A.dtype(), out_shape);
  int64_t nbatch = checked_numel(batch, "MatMul batch");
  BroadcastMap amap(a_batch, batch), bmap(b_batch, batch);
  std::vector<double> acc(static_cast<size_t>(M * N));
  visit_numeric(ctx, A.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t bi = 0; bi < nbatch; ++bi) {
      const T* pa = A.data<T>() + amap(bi) * M * K;
      const T* pb = B.data<T>() + bmap(bi) * K * N;
      matmul_2d(pa, K, 1, pb, N, 1, acc.data(), M, N, K);
      T* py = Y.data<T>() + bi * M * N;
      for (int64_t i = 0; i < M * N; ++i) py[i] = convert_scalar<T>(acc[i]);
    }
  });
  return {std::move(Y)};
}

}  // namespace nnc
