// Lowering of Einsum, following runtime/ref/misc_ops2.cpp: the output at each assignment of
// its labels is the sum, over the labels it lacks, of the operands' product; a label repeated
// within a term takes the diagonal, and size-1 dims broadcast as in numpy. Summed in double.
#include "codegen/cpu/lowerings.h"
#include "runtime/ref/einsum_spec.h"

namespace nnc::cpu {

std::vector<TensorFunc> lower_Einsum(LowerContext& ctx) {
  std::vector<int64_t> ranks;
  for (size_t k = 0; k < ctx.num_inputs(); ++k) {
    const TensorFunc& x = ctx.in(k);
    ctx.require(x.dtype == ctx.in(0).dtype && x.dtype != DType::Bool, "inputs must share one numeric element type");
    halide_type(x.dtype);
    ranks.push_back(x.rank());
  }
  EinsumSpec spec;
  try {
    spec = parse_einsum(ctx.attrs().get_string("equation", ""), ranks);
  } catch (const Error& e) {
    ctx.unsupported(e.what());
  }
  const int max_label = kEllipsis + kMaxEllipsisDims;
  std::vector<int64_t> size(max_label, -1);  // -1: unused
  for (size_t k = 0; k < spec.operands.size(); ++k)
    for (size_t d = 0; d < spec.operands[k].size(); ++d) {
      int64_t& s = size[spec.operands[k][d]];
      int64_t dim = ctx.in(k).shape[d];
      ctx.require(s == -1 || s == dim || s == 1 || dim == 1, "einsum dims of one label differ in size");
      s = (s == -1 || s == 1) ? dim : s;
    }
  Shape out_shape;
  for (int l : spec.output) out_shape.push_back(size[l]);
  std::vector<int> summed;
  Halide::Region region;
  for (int l = 0; l < max_label; ++l)
    if (size[l] != -1 && std::find(spec.output.begin(), spec.output.end(), l) == spec.output.end()) {
      summed.push_back(l);
      region.emplace_back(0, i32(size[l]));
    }
  std::optional<Halide::RDom> r;
  if (!region.empty()) r.emplace(region);
  return {define_output(ctx, 0, out_shape, [&](const Exprs& i) {
    std::vector<Expr> at(max_label);
    for (size_t d = 0; d < spec.output.size(); ++d) at[spec.output[d]] = i[d];
    for (size_t s = 0; s < summed.size(); ++s) at[summed[s]] = (*r)[static_cast<int>(s)];
    Expr product;
    for (size_t k = 0; k < spec.operands.size(); ++k) {
      const TensorFunc& x = ctx.in(k);
      Exprs idx;
      for (size_t d = 0; d < spec.operands[k].size(); ++d) {
        int l = spec.operands[k][d];
        idx.push_back(x.shape[d] == 1 && size[l] != 1 ? Expr(0) : at[l]);  // size-1 dims broadcast
      }
      Expr v = Halide::cast<double>(x.at(idx));
      product = product.defined() ? product * v : v;
    }
    return r ? Halide::sum(product) : product;
  })};
}

}  // namespace nnc::cpu
