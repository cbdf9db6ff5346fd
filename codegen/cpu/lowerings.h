// The lowering functions, one per op (codegen/cpu/lower_*.cpp), and helpers they share.
// find_lowering() (lowering_table.cpp) maps ops to them.
#pragma once
#include "codegen/cpu/lowering.h"

namespace nnc::cpu {

// Ops with a hand-written lowering, by family (each family is one lower_<family>.cpp).
// The element-wise ops declared with NNC_UNARY/NNC_ACTIVATION/NNC_BINARY and the
// reductions declared with NNC_REDUCE in ir/ops.def are lowered from their rows.
#define NNC_CPU_ELEMENTWISE_OPS(X) X(Clip) X(Where) X(Cast) X(CastLike) X(Gate) X(Identity) X(Dropout) X(BitShift)
#define NNC_CPU_LINEAR_OPS(X) X(MatMul) X(Gemm) X(FusedMatMul) X(FusedGemm) X(Conv) X(FusedConv) X(FusedAdd)
#define NNC_CPU_NORM_OPS(X)                                                                                   \
  X(Softmax) X(LogSoftmax) X(Hardmax) X(LayerNormalization) X(BatchNormalization) X(InstanceNormalization)      \
  X(LRN) X(MeanVarianceNormalization) X(MaxPool) X(AveragePool) X(GlobalAveragePool) X(GlobalMaxPool)           \
  X(ArgMax) X(ArgMin) X(CumSum)
#define NNC_CPU_MOVEMENT_OPS(X)                                                                               \
  X(Reshape) X(Flatten) X(Squeeze) X(Unsqueeze) X(Transpose) X(Concat) X(Split) X(Slice) X(Expand) X(Tile)      \
  X(Pad) X(DepthToSpace) X(SpaceToDepth) X(Trilu) X(Gather) X(GatherElements) X(GatherND) X(OneHot) X(EyeLike)  \
  X(Range) X(ConstantOfShape) X(Shape) X(Size) X(ReverseSequence) X(TopK)
// lower_loss.cpp, lower_resize.cpp, lower_scatter.cpp, lower_conv_transpose.cpp, lower_quant.cpp,
// lower_optimizers.cpp, lower_einsum.cpp, lower_sampling.cpp, lower_signal.cpp,
// lower_recurrent.cpp
#define NNC_CPU_EXTRA_OPS(X)                                                                                  \
  X(NegativeLogLikelihoodLoss) X(SoftmaxCrossEntropyLoss) X(Resize) X(ScatterElements) X(ScatterND)            \
  X(ConvTranspose) X(QuantizeLinear) X(DequantizeLinear) X(DynamicQuantizeLinear) X(Adam) X(Adagrad)            \
  X(Momentum) X(Einsum) X(GridSample) X(DFT) X(STFT) X(MatMulInteger) X(QLinearMatMul) X(ConvInteger)      \
  X(QLinearConv) X(RNN) X(GRU) X(LSTM)

#define NNC_CPU_DECLARE(E) std::vector<TensorFunc> lower_##E(LowerContext& ctx);
NNC_CPU_ELEMENTWISE_OPS(NNC_CPU_DECLARE)
NNC_CPU_LINEAR_OPS(NNC_CPU_DECLARE)
NNC_CPU_NORM_OPS(NNC_CPU_DECLARE)
NNC_CPU_MOVEMENT_OPS(NNC_CPU_DECLARE)
NNC_CPU_EXTRA_OPS(NNC_CPU_DECLARE)
#define NNC_OP(E, N, D, C)
#define NNC_UNARY(E, N, D, TY, OUT, A, AD, B, BD, BODY) NNC_CPU_DECLARE(E)
#define NNC_BINARY(E, N, TY, OUT, A, AD, BODY) NNC_CPU_DECLARE(E)
#define NNC_REDUCE(E, N, INIT, MAP, COMBINE, FINISH) NNC_CPU_DECLARE(E)
#include "ir/ops.def"

// The index into an input of shape `in` broadcast (numpy rules) to `out`, at output index idx.
Exprs broadcast_index(const Shape& in, const Shape& out, const Exprs& idx);
Expr broadcast_at(const TensorFunc& t, const Shape& out, const Exprs& idx);

// Grouped reductions, shared by the reduction, normalisation and pooling lowerings
// (lower_reduce.cpp). A group is one index of the axes of `shape` not marked in `reduced`;
// per-group results live in a Func of `shape` with the reduced axes 1, read at group_index().
int64_t numel_of(const Shape& s);
Exprs group_index(const std::vector<bool>& reduced, Exprs idx);  // idx with the reduced axes 0
using GroupUpdate = std::function<Expr(Expr acc, const Exprs& element)>;
using GroupFinish = std::function<Expr(Expr acc, const Exprs& group)>;
// acc = init; acc = update(acc, element) over each group's elements in row-major order (the
// reference kernels' order); then acc = finish(acc, group) when given. Computed at root.
TensorFunc reduce_groups(const std::string& name, const Shape& shape, const std::vector<bool>& reduced, DType acc,
                         Expr init, const GroupUpdate& update, const GroupFinish& finish = nullptr);
constexpr int64_t kParallelWork = 32768;  // elements visited before a Func is worth sharing out
// Fuses the loops over `outermost_first` (non-empty) into one, in row-major order; returns it.
Var fuse_rows(Halide::Stage stage, const std::vector<Var>& outermost_first);
// Computes f (of ONNX-order `shape`) at root, vectorised innermost and parallel over the outer
// dims when `work` (elements visited) is large. skip_axis is left alone in every stage (an
// update that scans along it has no pure variable there).
void schedule_root(Func f, const Shape& shape, int64_t work, int skip_axis = -1);
// A double as dtype t, as convert_scalar does it: NaN to 0 and saturating for integers,
// != 0 for bool.
Expr from_double(DType t, Expr v);

// Output k of ctx's node, named after it. `shape` is what the op's semantics give; it must
// equal out_shape(k), and every tensor of the node must be int32-addressable (Halide indexes
// with int32), else NotLowerable. An empty output is defined as zeros without calling body,
// and an omitted one (LowerContext::omitted) as nothing.
// (lower_movement.cpp)
TensorFunc define_output(LowerContext& ctx, size_t k, const Shape& shape,
                         const std::function<Expr(const Exprs&)>& body);
// e as a double (the reference kernels compute most ops in double).
inline Expr as_double(Expr e) { return Halide::cast(Halide::Float(64), std::move(e)); }
// An int32 Expr of a size or offset already known to fit (e.g. a dim checked by define_output).
inline Expr i32(int64_t v) { return Expr(static_cast<int>(v)); }

// activation(x) for an activation op's name (any NNC_ACTIVATION row, Clip with bounds a and
// b, PRelu with `slope`), with its float attributes a and b.
Expr activation_expr(const LowerContext& ctx, const std::string& name, Expr x, float a, float b, Expr slope);
// The epilogue activation of a fused op (its "activation", "activation_alpha/beta"
// attributes) applied to x at `index` of the output `shape`; PRelu's slope is input slope_input.
Expr fused_activation(const LowerContext& ctx, Expr x, const Exprs& index, const Shape& shape, size_t slope_input);

// A 2-D convolution's shape and attributes (x [N, C, H, W], w [M, C/group, KH, KW], the
// output's OH x OW; w is input `weights`), NotLowerable for other ranks. (lower_conv.cpp)
struct ConvGeometry {
  int64_t N, C, H, W, M, KH, KW, OH, OW, group;
  int64_t sy, sx, dy, dx, py, px;  // strides, dilations, leading pads
};
ConvGeometry conv_geometry(const LowerContext& ctx, size_t weights = 1);
// The convolution's input with zeros around it where it pads; for a strided 1x1 convolution
// without pads, the pixels it reads gathered densely (g then describes a stride-1
// convolution of them). `materialise` is set for both, and the schedule decides where; else
// the input itself, unless the kernel reads past the ends of the rows it uses (`over_read`):
// then a copy clamped to the image is made whether or not the convolution pads.
Func padded_input(const LowerContext& ctx, ConvGeometry& g, bool over_read, bool& materialise);
// Output tile width along a row: the size in 4..8 that wastes least at the row's end.
int pick_row_tile(int64_t ow);
// Rows per band when `rows` are cut into bands for tasks of tasks_per_band each (e.g. the
// panels of output channels), so there are at least 16 tasks where the rows allow, and both
// cores stay busy when there are only a few panels.
int band_rows(int64_t rows, int64_t tasks_per_band);
// 3x3 stride-1 convolutions with constant weights by Winograd's F(2x2, 3x3)
// (lower_conv_winograd.cpp).
bool conv_uses_winograd(const LowerContext& ctx, const ConvGeometry& g);
std::vector<TensorFunc> lower_conv_winograd(LowerContext& ctx, ConvGeometry g);
// `count` vectors of K floats (element k of vector i at src[i * stride_i + k * stride_k])
// packed at dst into panels of `width` vectors, [panels][K][width] and zero past count, so a
// kernel reads one k of a panel contiguously. Returns the end of what it wrote.
float* pack_panels(const float* src, float* dst, int64_t count, int64_t K, int64_t width, int64_t stride_i,
                   int64_t stride_k);
// A convolution's float weights (input 1, [M, C, KH, KW]) packed into panels of tm output
// channels, [panels][C][KH][KW][tm] and zero past M, so each panel's weights are contiguous in
// the order an accumulation over (c, ky, kx) reads them: at compile time into a constant of
// the kernel when they are constant, else once per call (training), a small transposition.
Func pack_conv_weights(LowerContext& ctx, int tm);
// The width, 16 or 32 pixels, of the blocks a row of n pixels is cut into (the last shifted
// inwards) that recomputes fewer of them: 16 when n % 32 is 1..16 (112, 196 and 784 pixels).
// Register tiles of such blocks hold 256 outputs: 32 x 8 or 16 x 16.
int pixel_block(int64_t n);
// Conv and FusedConv given their image flattened (conv_reads_flat). (lower_linear.cpp)
std::vector<TensorFunc> lower_conv_as_gemm(LowerContext& ctx);

}  // namespace nnc::cpu
