// Reference kernels over sequences and optionals (ONNX opsets 11-16), and Identity, which
// passes any value through.
#include "runtime/ref/kernels.h"

namespace nnc {
namespace {

const RuntimeValue& sequence_input(const KernelContext& ctx, size_t i) {
  const RuntimeValue& v = ctx.value(i);
  ctx.require(v.kind == TypeKind::Sequence && v.present, "input " + std::to_string(i) + " must be a sequence, got " + v.type_str());
  return v;
}

// A position input (int32/int64 scalar), normalised into [0, limit]; negative counts from the back.
size_t position(const KernelContext& ctx, size_t input, size_t size, bool allow_end) {
  const Tensor& t = ctx.in(input);
  ctx.require(t.numel() == 1 && (t.dtype() == DType::Int32 || t.dtype() == DType::Int64),
              "the position must be an int32 or int64 scalar");
  int64_t n = static_cast<int64_t>(size), p = t.to_int64s()[0];
  int64_t q = p < 0 ? p + n : p;
  if (q < 0 || q > n || (q == n && !allow_end))
    ctx.fail("position " + std::to_string(p) + " is out of range for a sequence of " + std::to_string(n));
  return static_cast<size_t>(q);
}

void check_element(const KernelContext& ctx, const RuntimeValue& seq, const Tensor& t) {
  if (seq.elem_type != DType::Undefined && t.dtype() != seq.elem_type)
    ctx.fail(std::string("cannot put a ") + dtype_name(t.dtype()) + " tensor into a sequence of " + dtype_name(seq.elem_type));
}

}  // namespace

RuntimeValues ref_Identity(const KernelContext& ctx) { return {ctx.value(0)}; }

RuntimeValues ref_SequenceConstruct(const KernelContext& ctx) {
  std::vector<Tensor> items;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    items.push_back(ctx.in(i));
    ctx.require(items.back().dtype() == items.front().dtype(), "all inputs must have the same element type");
  }
  ctx.require(!items.empty(), "needs at least one input");
  DType elem = items.front().dtype();
  return {RuntimeValue::of_sequence(elem, std::move(items))};
}

RuntimeValues ref_SequenceEmpty(const KernelContext& ctx) {
  int64_t code = ctx.attrs().get_int("dtype", static_cast<int64_t>(DType::Float32));
  ctx.require(is_valid_dtype(static_cast<int>(code)), "dtype " + std::to_string(code) + " is not a valid element type");
  return {RuntimeValue::of_sequence(static_cast<DType>(code), {})};
}

RuntimeValues ref_SequenceAt(const KernelContext& ctx) {
  const RuntimeValue& seq = sequence_input(ctx, 0);
  return {seq.sequence[position(ctx, 1, seq.sequence.size(), false)]};
}

RuntimeValues ref_SequenceInsert(const KernelContext& ctx) {
  RuntimeValue seq = sequence_input(ctx, 0);
  seq.optional = false;
  const Tensor& t = ctx.in(1);
  check_element(ctx, seq, t);
  size_t at = ctx.has_input(2) ? position(ctx, 2, seq.sequence.size(), true) : seq.sequence.size();
  seq.sequence.insert(seq.sequence.begin() + static_cast<std::ptrdiff_t>(at), t);
  seq.elem_type = t.dtype();
  return {std::move(seq)};
}

RuntimeValues ref_SequenceErase(const KernelContext& ctx) {
  RuntimeValue seq = sequence_input(ctx, 0);
  seq.optional = false;
  ctx.require(!seq.sequence.empty(), "cannot erase from an empty sequence");
  size_t at = ctx.has_input(1) ? position(ctx, 1, seq.sequence.size(), false) : seq.sequence.size() - 1;
  seq.sequence.erase(seq.sequence.begin() + static_cast<std::ptrdiff_t>(at));
  return {std::move(seq)};
}

RuntimeValues ref_SequenceLength(const KernelContext& ctx) {
  const RuntimeValue& seq = sequence_input(ctx, 0);
  return {Tensor::from_int64s({static_cast<int64_t>(seq.sequence.size())}, {})};
}

// split absent: pieces of size 1 (squeezed unless keepdims); a scalar: pieces of that size,
// the last one shorter; a 1-D tensor: the piece sizes, which must add up to the axis.
RuntimeValues ref_SplitToSequence(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  int64_t len = x.dim(static_cast<int>(axis));
  std::vector<int64_t> sizes;
  bool squeeze = false;
  if (!ctx.has_input(1)) {
    sizes.assign(static_cast<size_t>(len), 1);
    squeeze = ctx.attrs().get_int("keepdims", 1) == 0;
  } else if (const Tensor& s = ctx.in(1); s.rank() == 0) {
    int64_t piece = s.to_int64s()[0];
    ctx.require(piece > 0, "the split size must be positive");
    for (int64_t done = 0; done < len; done += piece) sizes.push_back(std::min(piece, len - done));
  } else {
    sizes = s.to_int64s();
    int64_t total = 0;
    for (int64_t v : sizes) {
      ctx.require(v >= 0, "split sizes must not be negative");
      total += v;
    }
    ctx.require(total == len, "split sizes add up to " + std::to_string(total) + ", the axis has " + std::to_string(len));
  }
  std::vector<Tensor> items;
  int64_t start = 0;
  for (int64_t size : sizes) {
    Tensor starts = Tensor::from_int64s({start}, {1}), ends = Tensor::from_int64s({start + size}, {1});
    Tensor axes = Tensor::from_int64s({axis}, {1});
    Tensor piece = run_kernel(ctx, OpKind::Slice, {&x, &starts, &ends, &axes});
    if (squeeze) {
      Shape s = piece.shape();
      s.erase(s.begin() + axis);
      piece = piece.reshaped(s);
    }
    items.push_back(std::move(piece));
    start += size;
  }
  return {RuntimeValue::of_sequence(x.dtype(), std::move(items))};
}

// Concat along axis, or with new_axis=1 stack along a new axis (which may be one past the last).
RuntimeValues ref_ConcatFromSequence(const KernelContext& ctx) {
  const RuntimeValue& seq = sequence_input(ctx, 0);
  ctx.require(!seq.sequence.empty(), "cannot concatenate an empty sequence");
  bool new_axis = ctx.attrs().get_int("new_axis", 0) != 0;
  int64_t rank = seq.sequence.front().rank();
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), rank + (new_axis ? 1 : 0));
  std::vector<Tensor> parts;
  for (const Tensor& t : seq.sequence) {
    if (!new_axis) { parts.push_back(t); continue; }
    Shape s = t.shape();
    s.insert(s.begin() + axis, 1);
    parts.push_back(t.reshaped(s));
  }
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : parts) ptrs.push_back(&t);
  Attributes attrs;
  attrs.set("axis", axis);
  return {run_kernel(ctx, OpKind::Concat, ptrs, attrs)};
}

RuntimeValues ref_Optional(const KernelContext& ctx) {
  if (ctx.has_value(0)) return {ctx.value(0).as_optional()};
  auto it = ctx.attrs().all().find("type");
  const auto* type = it == ctx.attrs().all().end() ? nullptr : std::get_if<TypeAttr>(&it->second);
  ctx.require(type != nullptr, "an Optional without input needs its 'type' attribute");
  return {RuntimeValue::empty_optional(type->kind, type->elem)};
}

RuntimeValues ref_OptionalHasElement(const KernelContext& ctx) {
  Tensor t(DType::Bool, {});
  t.data<bool>()[0] = ctx.has_value(0) && ctx.value(0).present;
  return {std::move(t)};
}

RuntimeValues ref_OptionalGetElement(const KernelContext& ctx) {
  RuntimeValue v = ctx.value(0);
  ctx.require(v.present, "the optional input is empty");
  v.optional = false;
  return {std::move(v)};
}

}  // namespace nnc
