// nnc's own ops (domain "nnc": Gelu, GeluTanh, Mish, Silu, the Fused* ops, Gate) <-> calls of
// ONNX model-local functions (FunctionProto, domain "nnc") whose bodies are standard ONNX ops
// of the model's default-domain opset (ONNX's checker requires the same version; bodies with
// constants need CastLike, opset 15), so an optimised model passes onnx.checker and runs in any
// ONNX runtime, and nnc reads it back as the same ops.
//
// ONNX 1.12's shape inference refuses a function call that passes an optional input as "",
// so a function declares only the inputs a call really has, and there is one function per
// signature (op, activation, IR input slots present). Function names:
//   Gelu, GeluTanh, Mish, Silu                 the unary activations, input x
//   <FusedOp>[_<Activation>][_s<slots>]        e.g. FusedConv, FusedConv_Relu, FusedGemm_LeakyRelu_s0134
//   Gate[_<Activation>][_split]                two inputs (u, g), or _split: one input x cut in halves
// _s<slots> (the IR input slots of the call's inputs, one digit each) appears when the present
// inputs are not the contiguous slots 0..k-1 (an omitted bias before Z, Z omitted before the
// PRelu slope); the call node then carries the ints attribute "input_slots" with those slots.
// A call carries the IR node's attributes; a function's attribute list is the union over its
// calls plus activation, activation_alpha, activation_beta and input_slots. Body nodes take
// their attributes from the call by reference (ref_attr_name); constants are Constant +
// CastLike, so bodies work for float16/float/double alike.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace onnx { class ModelProto; class NodeProto; }

namespace nnc {

// The call attribute listing the IR input slot of each call input.
inline constexpr const char* kInputSlotsAttr = "input_slots";

// ---- export ----
// Writes the nnc-domain nodes of a model as function calls and collects the functions.
class NncFunctionWriter {
 public:
  // opset: the model's default-domain opset, which the bodies are written in.
  explicit NncFunctionWriter(int64_t opset) : opset_(static_cast<int>(opset)) {}

  // Writes n (domain "nnc") into np as a call of its function: op_type, domain, inputs and
  // attributes (the caller writes the name and the outputs). Throws nnc::Error when n cannot
  // be expressed with standard ops (unknown activation, PRelu without its slope, ...).
  void write_call(const Node& n, onnx::NodeProto& np);
  // Appends the functions of all calls written so far to m.functions(), sorted by name.
  void append_functions(onnx::ModelProto& m) const;

 private:
  struct Signature {
    OpKind op = OpKind::Unsupported;
    std::string activation;
    std::vector<int64_t> slots;          // the IR input slot of each function input
    int num_outputs = 1;
    std::map<std::string, int> attrs;    // attribute name -> onnx::AttributeProto type, over all calls
  };
  int opset_;
  std::map<std::string, Signature> functions_;
};

// ---- import ----
// The nnc op a call in domain "nnc" stands for: the op named op_type exactly, else the one
// named by the part before the first '_' ("FusedConv_Relu_s013" -> FusedConv). nullopt: none.
std::optional<OpKind> nnc_op_of_call(std::string_view op_type);
// The IR inputs of a call: its inputs placed at the slots of its "input_slots" attribute
// (nullptr elsewhere), or `ins` unchanged without one. Throws nnc::Error on malformed slots.
std::vector<Value*> nnc_call_inputs(const onnx::NodeProto& np, const std::vector<Value*>& ins);

}  // namespace nnc
