#include "runtime/ref/kernel.h"

namespace nnc {

const Tensor& KernelContext::in(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is missing");
  return *inputs[i];
}

const RuntimeValue& KernelContext::value(size_t i) const {
  if (!has_value(i)) fail("input " + std::to_string(i) + " is missing");
  return *values[i];
}

const Graph& KernelContext::subgraph(const std::string& attr) const {
  for (const auto& [name, g] : node.subgraphs())
    if (name == attr) return *g;
  fail("has no subgraph attribute '" + attr + "'");
}

std::vector<const RuntimeValue*> KernelContext::captured(const std::string& attr) const {
  size_t offset = node.num_explicit_inputs();
  for (const auto& [name, g] : node.subgraphs()) {
    if (name == attr) {
      require(offset + g->captures.size() <= values.size(), "captured inputs are missing");
      return {values.begin() + static_cast<std::ptrdiff_t>(offset),
              values.begin() + static_cast<std::ptrdiff_t>(offset + g->captures.size())};
    }
    offset += g->captures.size();
  }
  fail("has no subgraph attribute '" + attr + "'");
}

void KernelContext::fail(const std::string& why) const {
  throw Error(node.label() + ": " + why, ErrorKind::Runtime);
}

Tensors single_output(const KernelContext& ctx, Tensor y) {
  Tensors outs(std::max<size_t>(1, ctx.num_outputs()));
  outs[0] = std::move(y);
  return outs;
}

Tensor run_kernel(const KernelContext& ctx, OpKind op, std::vector<const Tensor*> inputs, Attributes attrs) {
  Node n;
  n.op = op;
  n.op_type = op_name(op);
  n.name = ctx.node.name;
  n.attrs = std::move(attrs);
  n.outputs = {nullptr};
  KernelContext inner{n, std::move(inputs), ctx.opset};
  return ref_kernel(op)(inner).at(0);
}

int64_t normalize_axis(const KernelContext& ctx, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

Shape strides_of(const Shape& s) {
  Shape st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

Shape broadcast_shapes(const KernelContext& ctx, const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      ctx.fail("shapes " + shape_str(a) + " and " + shape_str(b) + " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

BroadcastMap::BroadcastMap(const Shape& in, const Shape& out) : out_shape(out), in_strides_bcast(out.size(), 0) {
  Shape st = strides_of(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) in_strides_bcast[off + i] = in[i] == 1 ? 0 : st[i];
}

int64_t BroadcastMap::operator()(int64_t out_index) const {
  int64_t in_index = 0;
  for (int i = static_cast<int>(out_shape.size()) - 1; i >= 0 && out_index > 0; --i) {
    int64_t d = out_shape[i];
    int64_t c = d ? out_index % d : 0;
    out_index = d ? out_index / d : 0;
    in_index += c * in_strides_bcast[i];
  }
  return in_index;
}

}  // namespace nnc
