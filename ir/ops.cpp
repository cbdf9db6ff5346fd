#include "ir/ops.h"

namespace nnc {

static const OpInfo kOps[] = {
#define NNC_OP(E, N, D, C) {OpKind::E, N, D, OpCategory::C},
#include "ir/ops.def"
    {OpKind::Unsupported, "Unsupported", "", OpCategory::Elementwise},
};

const OpInfo& op_info(OpKind k) { return kOps[static_cast<int>(k)]; }
const char* op_name(OpKind k) { return op_info(k).onnx_name; }
int op_count() { return static_cast<int>(OpKind::Unsupported); }

const char* category_name(OpCategory c) {
  static const char* names[] = {"elementwise", "reduction", "linear", "conv", "pool",
                                "normalization", "movement", "index", "source", "loss"};
  return names[static_cast<int>(c)];
}

std::optional<OpKind> find_op(std::string_view domain, std::string_view name) {
  if (domain == "ai.onnx") domain = "";
  for (int i = 0; i < op_count(); ++i)
    if (kOps[i].onnx_name == name && kOps[i].domain == domain) return kOps[i].kind;
  return std::nullopt;
}

}  // namespace nnc
