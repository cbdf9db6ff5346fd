#include "ir/ops.h"

namespace nnc {

static const OpInfo kOps[] = {
#define NNC_OP(E, N, D, C) {OpKind::E, N, D, OpCategory::C},
#define NNC_UNARY(E, N, D, TY, OUT, A, AD, B, BD, BODY) {OpKind::E, N, D, OpCategory::Elementwise, A, AD, B, BD},
#define NNC_ACTIVATION(E, N, D, TY, OUT, A, AD, B, BD, BODY) {OpKind::E, N, D, OpCategory::Activation, A, AD, B, BD},
#define NNC_FUSED(E, N, BASE, ARITY) {OpKind::E, N, "nnc", OpCategory::Fused, "", 0, "", 0, OpKind::BASE, ARITY},
#include "ir/ops.def"
    {OpKind::Unsupported, "Unsupported", "", OpCategory::Elementwise},
};

const OpInfo& op_info(OpKind k) { return kOps[static_cast<int>(k)]; }
const char* op_name(OpKind k) { return op_info(k).onnx_name; }
int op_count() { return static_cast<int>(OpKind::Unsupported); }

const char* category_name(OpCategory c) {
  static const char* names[] = {"elementwise", "activation", "reduction", "linear", "conv", "pool",
                                "normalization", "movement", "index", "source", "loss", "fused",
                                "sequence", "control flow"};
  return names[static_cast<int>(c)];
}

std::optional<OpKind> find_op(std::string_view domain, std::string_view name) {
  if (domain == "ai.onnx") domain = "";
  for (int i = 0; i < op_count(); ++i)
    if (kOps[i].onnx_name == name && kOps[i].domain == domain) return kOps[i].kind;
  return std::nullopt;
}

}  // namespace nnc
