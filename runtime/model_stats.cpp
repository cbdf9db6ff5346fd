#include "runtime/model_stats.h"

namespace nnc {
namespace {

// Element count of a value's declared shape, symbolic dims counted as 1; -1 if unknown.
double elements(const Value* v) {
  if (!v) return -1;
  if (v->initializer) return static_cast<double>(v->initializer->numel());
  if (!v->dims) return -1;
  double n = 1;
  for (const Dim& d : *v->dims) n *= d.is_static() ? static_cast<double>(d.value) : 1.0;
  return n;
}

double dim_or_one(const Value* v, int i) {
  if (!v || !v->dims || i >= static_cast<int>(v->dims->size())) return 1;
  const Dim& d = (*v->dims)[i];
  return d.is_static() ? static_cast<double>(d.value) : 1.0;
}

// FLOPs of one node, or -1 when its shapes are unknown.
double node_flops(const Node& n) {
  const Value* out = n.outputs.empty() ? nullptr : n.outputs[0];
  double out_elems = elements(out);
  const OpInfo& info = op_info(n.op);
  OpKind op = info.category == OpCategory::Fused ? info.fused_base : n.op;  // epilogues are cheap
  switch (op) {
    case OpKind::Conv: {  // 2 * output elements * (Cin/group * kernel area)
      double w = elements(n.input(1));
      double cout = dim_or_one(n.input(1), 0);
      if (w < 0 || out_elems < 0) return -1;
      return 2.0 * out_elems * (w / cout);
    }
    case OpKind::ConvTranspose: {
      double in = elements(n.input(0)), w = elements(n.input(1)), cin = dim_or_one(n.input(1), 0);
      if (in < 0 || w < 0) return -1;
      return 2.0 * in * (w / cin);
    }
    case OpKind::Gemm:
    case OpKind::MatMul: {  // 2 * M * N * K = 2 * output elements * K
      const Value* a = n.input(0);
      if (!a || !a->dims || a->dims->empty() || out_elems < 0) return -1;
      bool ta = op == OpKind::Gemm && n.attrs.get_int("transA", 0);
      double k = ta ? dim_or_one(a, 0) : dim_or_one(a, static_cast<int>(a->dims->size()) - 1);
      return 2.0 * out_elems * k;
    }
    default: {
      OpCategory c = info.category;
      if (c == OpCategory::Elementwise || c == OpCategory::Activation || c == OpCategory::Normalization || c == OpCategory::Pool ||
          c == OpCategory::Reduction) {
        double in = elements(n.input(0));
        return in < 0 ? -1 : in;
      }
      return 0;
    }
  }
}

}  // namespace

ModelStats compute_stats(const Graph& g) {
  ModelStats s;
  for (const auto& n : g.nodes()) {
    ++s.op_histogram[(n->domain.empty() ? "" : n->domain + ".") + n->op_type];
    double f = node_flops(*n);
    if (f < 0) s.flops_complete = false;
    else s.flops += f;
  }
  for (const Value* v : g.initializers) {
    s.parameters += v->initializer->numel();
    s.parameter_bytes += static_cast<int64_t>(v->initializer->nbytes());
  }
  return s;
}

}  // namespace nnc
