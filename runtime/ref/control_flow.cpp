// Reference kernels of the control-flow ops: If, Loop, Scan (opset 9+) and SequenceMap. Each
// runs its subgraph through run_subgraph, which binds the captured outer-scope values.
#include <algorithm>

#include "runtime/ref/kernels.h"

namespace nnc {
namespace {

bool scalar_bool(const KernelContext& ctx, const Tensor& t, const std::string& what) {
  ctx.require(t.numel() == 1, what + " must hold one value, got shape " + shape_str(t.shape()));
  return t.at_double(0) != 0;
}

Tensor bool_scalar(bool b) {
  Tensor t(DType::Bool, {});
  t.data<bool>()[0] = b;
  return t;
}

// Slice `index` of x along axis, with the axis removed.
Tensor take(const KernelContext& ctx, const Tensor& x, int64_t axis, int64_t index) {
  Tensor i = Tensor::from_int64s({index}, {});
  Attributes attrs;
  attrs.set("axis", axis);
  return run_kernel(ctx, OpKind::Gather, {&x, &i}, attrs);
}

// The parts stacked along a new axis; `like` gives the dtype when there are none.
Tensor stack(const KernelContext& ctx, const std::vector<Tensor>& parts, int64_t axis, DType like) {
  if (parts.empty()) return Tensor(like == DType::Undefined ? DType::Float32 : like, {0});
  axis = normalize_axis(ctx, axis, parts.front().rank() + 1);
  std::vector<Tensor> expanded;
  for (const Tensor& t : parts) {
    Shape s = t.shape();
    s.insert(s.begin() + std::min<int64_t>(axis, t.rank()), 1);
    expanded.push_back(t.reshaped(s));
  }
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : expanded) ptrs.push_back(&t);
  Attributes attrs;
  attrs.set("axis", axis);
  return run_kernel(ctx, OpKind::Concat, ptrs, attrs);
}

const Tensor& tensor_of(const KernelContext& ctx, const RuntimeValue& v, const std::string& what) {
  ctx.require(v.is_plain_tensor(), what + " must be a tensor, got " + v.type_str());
  return v.tensor;
}

}  // namespace

RuntimeValues ref_If(const KernelContext& ctx) {
  bool cond = scalar_bool(ctx, ctx.in(0), "the condition");
  return run_subgraph(ctx, cond ? "then_branch" : "else_branch", {});
}

// Loop(M?, cond?, v_initial...): body(i, cond, v...) -> (cond, v..., scan outputs...).
// Runs while i < M (when given) and cond (when given); scan outputs are stacked on axis 0.
RuntimeValues ref_Loop(const KernelContext& ctx) {
  const Graph& body = ctx.subgraph("body");
  size_t carried = ctx.node.num_explicit_inputs() - 2;
  ctx.require(body.outputs.size() >= 1 + carried, "the body has fewer outputs than loop-carried values");
  size_t scans = body.outputs.size() - 1 - carried;
  bool has_max = ctx.has_input(0), has_cond = ctx.has_input(1);
  int64_t max_trips = has_max ? ctx.in(0).to_int64s().at(0) : 0;
  bool cond = has_cond ? scalar_bool(ctx, ctx.in(1), "the loop condition") : true;
  RuntimeValues state;
  for (size_t i = 0; i < carried; ++i) state.push_back(ctx.value(2 + i));
  std::vector<std::vector<Tensor>> scan_parts(scans);
  for (int64_t iter = 0; (!has_max || iter < max_trips) && cond; ++iter) {
    RuntimeValues inputs{Tensor::from_int64s({iter}, {}), bool_scalar(cond)};
    inputs.insert(inputs.end(), state.begin(), state.end());
    RuntimeValues out = run_subgraph(ctx, "body", inputs);
    if (has_cond) cond = scalar_bool(ctx, tensor_of(ctx, out[0], "the body's condition"), "the body's condition");
    for (size_t i = 0; i < carried; ++i) state[i] = std::move(out[1 + i]);
    for (size_t k = 0; k < scans; ++k) scan_parts[k].push_back(tensor_of(ctx, out[1 + carried + k], "a scan output"));
  }
  RuntimeValues results = std::move(state);
  for (size_t k = 0; k < scans; ++k) results.push_back(stack(ctx, scan_parts[k], 0, body.outputs[1 + carried + k]->dtype));
  return results;
}

namespace {

// One scan: the body maps (state..., slices...) -> (state..., per-iteration outputs...) for
// each of `length` steps; returns the final states followed by each output's parts.
struct ScanResult {
  RuntimeValues state;
  std::vector<std::vector<Tensor>> parts;
};
ScanResult scan(const KernelContext& ctx, RuntimeValues state, const std::vector<Tensor>& xs,
                const std::vector<int64_t>& axes, const std::vector<int64_t>& reversed, int64_t length) {
  size_t n = state.size();
  ScanResult r{std::move(state), std::vector<std::vector<Tensor>>(ctx.subgraph("body").outputs.size() - n)};
  for (int64_t t = 0; t < length; ++t) {
    RuntimeValues body_in = r.state;
    for (size_t j = 0; j < xs.size(); ++j) body_in.push_back(take(ctx, xs[j], axes[j], reversed[j] ? length - 1 - t : t));
    RuntimeValues out = run_subgraph(ctx, "body", body_in);
    for (size_t i = 0; i < n; ++i) r.state[i] = std::move(out[i]);
    for (size_t k = 0; k < r.parts.size(); ++k) r.parts[k].push_back(tensor_of(ctx, out[n + k], "a scan output"));
  }
  return r;
}

std::vector<int64_t> per_input(const KernelContext& ctx, const char* name, size_t count) {
  std::vector<int64_t> v = ctx.attrs().get_ints(name);
  if (v.empty()) v.assign(count, 0);
  ctx.require(v.size() == count, std::string(name) + " has " + std::to_string(v.size()) + " entries, expected " + std::to_string(count));
  return v;
}

// Scan-8: [sequence_lens?, state..., scan inputs...], all with a leading batch axis; each batch
// entry is scanned along axis 1 on its own and the results are stacked again.
RuntimeValues scan_with_batch_axis(const KernelContext& ctx, size_t n, size_t m) {
  const Graph& body = ctx.subgraph("body");
  std::vector<int64_t> dirs = per_input(ctx, "directions", m);
  const Tensor& first = ctx.in(1 + n);
  ctx.require(first.rank() >= 2, "scan inputs need a batch and a sequence axis");
  int64_t batch = first.dim(0), length = first.dim(1);
  if (ctx.has_input(0))
    for (int64_t len : ctx.in(0).to_int64s())
      ctx.require(len == length, "sequence_lens shorter than the inputs are not supported");
  std::vector<RuntimeValues> states(n);
  std::vector<std::vector<Tensor>> outs(body.outputs.size() - n);
  for (int64_t b = 0; b < batch; ++b) {
    RuntimeValues state;
    for (size_t i = 0; i < n; ++i) state.push_back(take(ctx, ctx.in(1 + i), 0, b));
    std::vector<Tensor> xs;
    for (size_t j = 0; j < m; ++j) xs.push_back(take(ctx, ctx.in(1 + n + j), 0, b));
    ScanResult r = scan(ctx, std::move(state), xs, std::vector<int64_t>(m, 0), dirs, length);
    for (size_t i = 0; i < n; ++i) states[i].push_back(std::move(r.state[i]));
    for (size_t k = 0; k < outs.size(); ++k) outs[k].push_back(stack(ctx, r.parts[k], 0, body.outputs[n + k]->dtype));
  }
  RuntimeValues results;
  for (size_t i = 0; i < n; ++i) {
    std::vector<Tensor> parts;
    for (RuntimeValue& v : states[i]) parts.push_back(tensor_of(ctx, v, "a scan state"));
    results.push_back(stack(ctx, parts, 0, body.outputs[i]->dtype));
  }
  for (size_t k = 0; k < outs.size(); ++k) results.push_back(stack(ctx, outs[k], 0, body.outputs[n + k]->dtype));
  return results;
}

}  // namespace

// Scan: N state values, then M scan inputs sliced along their axes; the body maps
// (state..., slices...) -> (state..., per-iteration outputs...), stacked along the output axes.
RuntimeValues ref_Scan(const KernelContext& ctx) {
  const Graph& body = ctx.subgraph("body");
  size_t m = static_cast<size_t>(ctx.attrs().get_int("num_scan_inputs", 0));
  size_t inputs = ctx.node.num_explicit_inputs() - (ctx.opset < 9 ? 1 : 0);
  ctx.require(m >= 1 && m <= inputs, "num_scan_inputs must be between 1 and the input count");
  size_t n = inputs - m;
  ctx.require(body.outputs.size() >= n, "the body has fewer outputs than state values");
  if (ctx.opset < 9) return scan_with_batch_axis(ctx, n, m);
  size_t k_out = body.outputs.size() - n;
  std::vector<int64_t> in_axes = per_input(ctx, "scan_input_axes", m), in_dirs = per_input(ctx, "scan_input_directions", m);
  std::vector<int64_t> out_axes = per_input(ctx, "scan_output_axes", k_out), out_dirs = per_input(ctx, "scan_output_directions", k_out);
  int64_t length = -1;
  std::vector<Tensor> xs;
  for (size_t j = 0; j < m; ++j) {
    xs.push_back(ctx.in(n + j));
    in_axes[j] = normalize_axis(ctx, in_axes[j], xs.back().rank());
    int64_t len = xs.back().dim(static_cast<int>(in_axes[j]));
    ctx.require(length < 0 || len == length, "the scan inputs have different lengths");
    length = len;
  }
  RuntimeValues state;
  for (size_t i = 0; i < n; ++i) state.push_back(ctx.value(i));
  ScanResult r = scan(ctx, std::move(state), xs, in_axes, in_dirs, length);
  RuntimeValues results = std::move(r.state);
  for (size_t k = 0; k < k_out; ++k) {
    if (out_dirs[k]) std::reverse(r.parts[k].begin(), r.parts[k].end());
    results.push_back(stack(ctx, r.parts[k], out_axes[k], body.outputs[n + k]->dtype));
  }
  return results;
}

// SequenceMap(seq, extra...): the body runs once per element of seq; an extra input that is a
// sequence contributes its element at the same position, a tensor the whole tensor. Each body
// output becomes a sequence.
RuntimeValues ref_SequenceMap(const KernelContext& ctx) {
  const Graph& body = ctx.subgraph("body");
  const RuntimeValue& seq = ctx.value(0);
  ctx.require(seq.kind == TypeKind::Sequence && seq.present, "input 0 must be a sequence");
  size_t len = seq.sequence.size();
  size_t extra = ctx.node.num_explicit_inputs() - 1;
  for (size_t j = 1; j <= extra; ++j)
    if (ctx.value(j).kind == TypeKind::Sequence)
      ctx.require(ctx.value(j).sequence.size() == len, "input sequences have different lengths");
  std::vector<std::vector<Tensor>> outs(body.outputs.size());
  for (size_t i = 0; i < len; ++i) {
    RuntimeValues in{seq.sequence[i]};
    for (size_t j = 1; j <= extra; ++j) {
      const RuntimeValue& v = ctx.value(j);
      in.push_back(v.kind == TypeKind::Sequence ? RuntimeValue(v.sequence[i]) : v);
    }
    RuntimeValues out = run_subgraph(ctx, "body", in);
    for (size_t k = 0; k < outs.size(); ++k) outs[k].push_back(tensor_of(ctx, out[k], "a body output"));
  }
  RuntimeValues results;
  for (size_t k = 0; k < outs.size(); ++k) {
    DType elem = outs[k].empty() ? body.outputs[k]->dtype : outs[k].front().dtype();
    results.push_back(RuntimeValue::of_sequence(elem, std::move(outs[k])));
  }
  return results;
}

}  // namespace nnc
