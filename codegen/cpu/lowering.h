// Lowering of IR nodes to Halide: each lowerable op turns its inputs (Halide Funcs of known,
// static shape) into output Funcs. The compiler (codegen/cpu/compiler.cpp) chains the
// lowerings of a group of nodes (a producer and its element-wise epilogue) into one
// pipeline, so only the group's last result is written to memory.
//
// Index order: a TensorFunc's Func takes its arguments innermost first (Halide's order:
// argument 0 is the last ONNX axis). TensorFunc::at and define() take ONNX-order indices,
// so lowering code reads like the reference kernels.
#pragma once
#include <Halide.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/graph.h"
#include "ir/tensor.h"

namespace nnc::cpu {

using Halide::Expr;
using Halide::Func;
using Halide::Var;
using Exprs = std::vector<Expr>;

Halide::Type halide_type(DType t);  // throws NotLowerable for strings and other unsupported types

// A tensor as a Halide Func of static shape.
struct TensorFunc {
  Func f;
  Shape shape;  // ONNX order
  DType dtype = DType::Undefined;
  Halide::Internal::Parameter param{};  // the kernel input buffer f reads, when it is one (to prefetch)

  int rank() const { return static_cast<int>(shape.size()); }
  // The element at an ONNX-order index.
  Expr at(const Exprs& index) const;
};

// Defines name(index) = body(index) over `shape` (ONNX-order index in body).
TensorFunc define(const std::string& name, const Shape& shape, DType dtype,
                  const std::function<Expr(const Exprs&)>& body);
// A valid, unique Halide name made from base (ONNX names may hold '.', '/', ':').
std::string func_name(const std::string& base);
// Vars in ONNX order for a Func of the given rank (fresh names per call).
std::vector<Var> onnx_vars(int rank, const std::string& prefix = "d");

// Thrown by a lowering that cannot handle this node (an attribute combination, a dtype,
// a non-constant shape input): the node then runs on its reference kernel instead.
struct NotLowerable : std::runtime_error {
  using std::runtime_error::runtime_error;
  NotLowerable(const std::string& why, const Value* wanted) : std::runtime_error(why), wants_constant(wanted) {}
  // Set when the node would lower if this input's value were known at compile time.
  const Value* wants_constant = nullptr;
};

// What a lowering sees of its node.
class LowerContext {
 public:
  LowerContext(const Node& node, std::vector<std::optional<TensorFunc>> inputs,
               std::vector<const Tensor*> constants, std::vector<Shape> out_shapes, std::vector<DType> out_dtypes);

  const Node& node;
  int64_t opset = 17;  // the default-domain opset the node follows (part of the cache key)
  const Attributes& attrs() const { return node.attrs; }
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i].has_value(); }
  const TensorFunc& in(size_t i) const;  // NotLowerable when omitted
  // The value of input i when it is a constant (an initializer); nullptr otherwise.
  const Tensor* constant(size_t i) const { return i < constants_.size() ? constants_[i] : nullptr; }
  // Input i's values as int64s; NotLowerable unless it is a constant. Reading a constant
  // this way bakes it into the code, so its values become part of the kernel's cache key.
  std::vector<int64_t> const_ints(size_t i);
  std::vector<double> const_doubles(size_t i);
  size_t num_outputs() const { return out_shapes_.size(); }
  const Shape& out_shape(size_t i = 0) const { return out_shapes_.at(i); }
  DType out_dtype(size_t i = 0) const { return out_dtypes_.at(i); }
  // The node leaves output i out: its TensorFunc is ignored (define_output skips it).
  bool omitted(size_t i) const { return out_dtypes_.at(i) == DType::Undefined; }
  // A tensor computed at compile time (e.g. weights re-packed into the layout a kernel
  // wants), passed to the kernel as an extra input buffer.
  TensorFunc add_constant(Tensor t, const std::string& name);

  // Schedules the group this node heads: called with the group's final Func (this node's
  // output, or an element-wise epilogue of it) and its ONNX-order shape. A lowering whose
  // work must be tiled together with its epilogue (GEMM, convolution) sets it; otherwise
  // the compiler's default (parallel outer loop, vectorised inner loop) applies.
  std::function<void(Func out, const Shape& shape)> schedule;

  // Set by the compiler: what the lowering baked in (constants it read), for the cache key.
  std::string baked;
  std::vector<Tensor> added_constants;
  std::vector<Halide::ImageParam> params;  // one per added constant

  [[noreturn]] void unsupported(const std::string& why) const { throw NotLowerable(why); }
  void require(bool cond, const std::string& why) const { if (!cond) unsupported(why); }

 private:
  std::vector<std::optional<TensorFunc>> inputs_;
  std::vector<const Tensor*> constants_;
  std::vector<Shape> out_shapes_;
  std::vector<DType> out_dtypes_;
};

// Lowers one node: one TensorFunc per node output (the output's shape and dtype must match
// out_shape/out_dtype). Throws NotLowerable when the op or this use of it is not supported.
using Lowering = std::vector<TensorFunc> (*)(LowerContext& ctx);
Lowering find_lowering(OpKind op);  // nullptr when the op has no lowering at all

// Whether the compiler presents this convolution's output, and the group's other tensors of
// that size, with H and W flattened into one axis ([N, M, H*W]), and its image too when it
// does not stride: a 1x1, unpadded, ungrouped float32 convolution giving at least 64 pixels
// (or fewer, when channels_tile takes it), which then lowers as a GEMM (lower_conv.cpp).
bool conv_reads_flat(const Node& n, const Shape& x, const Shape& w, const Shape& y, DType t);
// Whether the compiler presents a global pooling's image [N, C, H, W] (and its result and
// epilogue) flattened the same way: float32 GlobalAveragePool, which then sums contiguous rows.
bool global_pool_reads_flat(const Node& n, const Shape& x, DType t);
// The pixels per register tile when a flattened 1x1 convolution of this size has its output
// channels, not its pixels, as the vector dimension (small images, where vectors of pixels
// would be partly wasted); 0 when it does not.
int channels_tile(int64_t pixels, int64_t out_channels, int64_t in_channels);

// Default schedule of a group's output: parallel over the outer dims, vectorised innermost.
void schedule_default(Func out, const Shape& shape);

// Halide versions of helpers shared by lowerings.
int64_t normalize_axis(const LowerContext& ctx, int64_t axis, int64_t rank);  // NotLowerable if out of range
Expr cast_to(DType t, Expr e);
Expr lowest_value(DType t);   // -inf for floats, the minimum for integers
Expr highest_value(DType t);

}  // namespace nnc::cpu
