// OpKind and per-op facts, expanded from ir/ops.def.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace nnc {

enum class OpCategory {
  Elementwise, Activation, Reduction, Linear, Conv, Pool, Normalization, Movement, Index, Source, Loss, Fused,
  Sequence,     // sequence and optional values
  ControlFlow,  // ops with subgraph attributes
};

enum class OpKind : int {
#define NNC_OP(E, N, D, C) E,
#include "ir/ops.def"
  Unsupported,  // an op ONNX knows but nnc has no kernel for; Node::op_type keeps its name
};

struct OpInfo {
  OpKind kind;
  const char* onnx_name;
  const char* domain;  // "" = ONNX default domain
  OpCategory category;
  // Element-wise unary ops: the names and defaults of their two float attributes ("" = none).
  const char* attr_a = "";
  double default_a = 0;
  const char* attr_b = "";
  double default_b = 0;
  // Fused ops: the producer they extend and its input count (FusedConv -> Conv, 3).
  OpKind fused_base = OpKind::Unsupported;
  int fused_base_arity = 0;
};

const OpInfo& op_info(OpKind k);
const char* op_name(OpKind k);
const char* category_name(OpCategory c);
// Looks an op up by ONNX domain and name ("ai.onnx" is the same as "").
std::optional<OpKind> find_op(std::string_view domain, std::string_view name);
int op_count();  // number of ops in ops.def

// The domain nnc's own ops are exported under.
inline constexpr const char* kNncDomain = "nnc";

}  // namespace nnc
