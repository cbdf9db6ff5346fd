// The reference kernels' interface: plain, readable code correct for every shape, the
// oracle every optimised kernel and pass is tested against (DESIGN.md principle 5).
// Each op in ir/ops.def declared with NNC_OP has `Tensors ref_<Op>(const KernelContext&)`
// in one of the runtime/ref/*.cpp files; element-wise and reduction ops are generated.
#pragma once
#include <string>
#include <vector>

#include "ir/checked.h"
#include "ir/convert.h"
#include "ir/error.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "runtime/runtime_value.h"

namespace nnc {

using Tensors = std::vector<Tensor>;

struct KernelContext {
  const Node& node;
  std::vector<const Tensor*> inputs;  // nullptr for an omitted optional input (or a non-tensor one)
  int64_t opset = 17;
  // Every input as a runtime value (nullptr when omitted); set by the interpreter for all
  // kernels, read by the value kernels (NNC_VALUE_OP).
  std::vector<const RuntimeValue*> values = {};

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  // Input i; throws a clear error naming the node when it is missing.
  const Tensor& in(size_t i) const;
  const Attributes& attrs() const { return node.attrs; }
  // Input i as a runtime value; throws naming the node when it is missing.
  const RuntimeValue& value(size_t i) const;
  bool has_value(size_t i) const { return i < values.size() && values[i] != nullptr; }
  // Control flow: subgraph attribute `attr`, and the outer-scope values it captures (in its
  // Graph::captures order, taken from the node's captured inputs).
  const Graph& subgraph(const std::string& attr) const;
  std::vector<const RuntimeValue*> captured(const std::string& attr) const;
  size_t num_outputs() const { return node.outputs.size(); }
  // Throws nnc::Error (Runtime kind) with the node's name, op and the reason.
  [[noreturn]] void fail(const std::string& why) const;
  void require(bool cond, const std::string& why) const { if (!cond) fail(why); }
};

using RefKernel = Tensors (*)(const KernelContext&);
using ValueKernel = RuntimeValues (*)(const KernelContext&);
RefKernel ref_kernel(OpKind op);          // nullptr for Unsupported and value ops
ValueKernel ref_value_kernel(OpKind op);  // nullptr unless declared with NNC_VALUE_OP
// Runs subgraph `body` of the node in ctx (runtime/interpreter.cpp): inputs by position, its
// captures bound to ctx.captured(attr). Errors name the node and the attribute.
RuntimeValues run_subgraph(const KernelContext& ctx, const std::string& attr, const RuntimeValues& inputs);

// ---- helpers shared by kernels (runtime/ref/kernel_util.cpp) ----
// Normalises a possibly negative axis into [0, rank); fails with a clear error when out of range.
int64_t normalize_axis(const KernelContext& ctx, int64_t axis, int64_t rank);
// Row-major strides of a shape.
Shape strides_of(const Shape& s);
// ONNX multidirectional (numpy) broadcasting of two shapes; fails when incompatible.
Shape broadcast_shapes(const KernelContext& ctx, const Shape& a, const Shape& b);
// For an output index (as a flat offset into `out`), the flat offset into an input of shape
// `in` broadcast to `out`. Kernels use BroadcastMap for speed.
struct BroadcastMap {
  BroadcastMap(const Shape& in, const Shape& out);
  int64_t operator()(int64_t out_index) const;
  Shape out_shape, in_strides_bcast;  // stride 0 on broadcast dims
};
// A kernel's result when its first output is y and its other (optional) outputs stay empty.
Tensors single_output(const KernelContext& ctx, Tensor y);
// Runs op's plain kernel from inside another kernel (fused and quantized ops), through a
// stand-in node carrying ctx's node name so errors still point at the right node.
Tensor run_kernel(const KernelContext& ctx, OpKind op, std::vector<const Tensor*> inputs, Attributes attrs = {});
// Calls f(TypeTag<T>{}) for numeric T (not string); fails for strings.
template <class F> decltype(auto) visit_numeric(const KernelContext& ctx, DType t, F&& f);
// Calls f(TypeTag<T>{}) when t holds floats; fails naming `what` otherwise.
template <class F> decltype(auto) visit_float(const KernelContext& ctx, const Tensor& t, const std::string& what, F&& f);
// A stored element as a double (through float for the 16-bit floats).
template <class T> double to_double(T v) { return static_cast<double>(static_cast<compute_t<T>>(v)); }

}  // namespace nnc

#include "runtime/ref/kernel_util.inl"
