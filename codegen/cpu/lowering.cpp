// The lowering interface's shared pieces: TensorFunc indexing, define(), LowerContext,
// and the default schedule.
#include "codegen/cpu/lowering.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <sstream>

namespace nnc::cpu {

Halide::Type halide_type(DType t) {
  switch (t) {
    case DType::Float32: return Halide::Float(32);
    case DType::Float64: return Halide::Float(64);
    case DType::Float16: return Halide::Float(16);
    case DType::BFloat16: return Halide::BFloat(16);
    case DType::Int8: return Halide::Int(8);
    case DType::Int16: return Halide::Int(16);
    case DType::Int32: return Halide::Int(32);
    case DType::Int64: return Halide::Int(64);
    case DType::UInt8: return Halide::UInt(8);
    case DType::UInt16: return Halide::UInt(16);
    case DType::UInt32: return Halide::UInt(32);
    case DType::UInt64: return Halide::UInt(64);
    case DType::Bool: return Halide::Bool();
    default: throw NotLowerable(std::string("element type ") + dtype_name(t) + " has no compiled kernels");
  }
}

Expr TensorFunc::at(const Exprs& index) const {
  return f(Exprs(index.rbegin(), index.rend()));
}

std::string func_name(const std::string& base) {
  static std::atomic<uint64_t> counter{0};
  std::string s = "f";
  for (char c : base) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s + "_" + std::to_string(counter++);
}

std::vector<Var> onnx_vars(int rank, const std::string& prefix) {
  std::vector<Var> v;
  for (int i = 0; i < rank; ++i) v.emplace_back(prefix + std::to_string(i));
  return v;
}

TensorFunc define(const std::string& name, const Shape& shape, DType dtype,
                  const std::function<Expr(const Exprs&)>& body) {
  TensorFunc t{Func(func_name(name)), shape, dtype};
  std::vector<Var> v = onnx_vars(static_cast<int>(shape.size()));
  Exprs idx(v.begin(), v.end());
  Expr e = body(idx);
  Halide::Type want = halide_type(dtype);
  if (e.type() != want) e = Halide::cast(want, e);
  t.f(std::vector<Var>(v.rbegin(), v.rend())) = e;
  return t;
}

LowerContext::LowerContext(const Node& n, std::vector<std::optional<TensorFunc>> inputs,
                           std::vector<const Tensor*> constants, std::vector<Shape> out_shapes,
                           std::vector<DType> out_dtypes)
    : node(n), inputs_(std::move(inputs)), constants_(std::move(constants)), out_shapes_(std::move(out_shapes)),
      out_dtypes_(std::move(out_dtypes)) {}

const TensorFunc& LowerContext::in(size_t i) const {
  if (!has_input(i)) unsupported("input " + std::to_string(i) + " is missing");
  return *inputs_[i];
}

std::vector<int64_t> LowerContext::const_ints(size_t i) {
  const Tensor* t = constant(i);
  if (!t) throw NotLowerable("input " + std::to_string(i) + " is not a constant", node.inputs[i]);
  std::vector<int64_t> v = is_integer(t->dtype()) ? t->to_int64s() : std::vector<int64_t>{};
  if (!is_integer(t->dtype())) for (int64_t k = 0; k < t->numel(); ++k) v.push_back(static_cast<int64_t>(t->at_double(k)));
  std::ostringstream s;
  s << "c" << i << "=";
  for (int64_t x : v) s << x << ",";
  baked += s.str() + ";";
  return v;
}

std::vector<double> LowerContext::const_doubles(size_t i) {
  const Tensor* t = constant(i);
  if (!t || t->dtype() == DType::String)
    throw NotLowerable("input " + std::to_string(i) + " is not a numeric constant", t ? nullptr : node.inputs[i]);
  std::vector<double> v;
  std::ostringstream s;
  s.precision(17);
  s << "c" << i << "=";
  for (int64_t k = 0; k < t->numel(); ++k) v.push_back(t->at_double(k)), s << v.back() << ",";
  baked += s.str() + ";";
  return v;
}

TensorFunc LowerContext::add_constant(Tensor t, const std::string& name) {
  Halide::ImageParam p(halide_type(t.dtype()), t.rank(), func_name(name));
  Shape shape = t.shape();
  baked += "k" + std::to_string(added_constants.size()) + "=" + dtype_name(t.dtype()) + shape_str(shape) + ";";
  added_constants.push_back(std::move(t));
  params.push_back(p);
  if (shape.empty()) return define(name + "_v", shape, added_constants.back().dtype(), [p](const Exprs&) { return p(Exprs{}); });
  return define(name + "_v", shape, added_constants.back().dtype(), [p](const Exprs& i) {
    return p(Exprs(i.rbegin(), i.rend()));
  });
}

void schedule_default(Func out, const Shape& shape) {
  int rank = static_cast<int>(shape.size());
  if (rank == 0) return;
  int64_t inner = shape.back();
  Var x = out.args()[0];
  if (inner >= 16) out.vectorize(x, 16, Halide::TailStrategy::GuardWithIf);
  else if (inner >= 8) out.vectorize(x, 8, Halide::TailStrategy::GuardWithIf);
  if (rank < 2) return;
  int64_t outer = 1;
  for (int i = 0; i + 1 < rank; ++i) outer *= shape[i];
  // One parallel loop over the outer dims, in tasks of at least ~16K elements: a task per
  // row would spend more time handing out work than doing it.
  constexpr int64_t kTaskElements = 16384;
  if (outer * inner < 2 * kTaskElements) return;
  Var fused = out.args()[rank - 1];
  for (int d = rank - 2; d >= 1; --d) {
    Var f2(fused.name() + "_" + std::to_string(d));
    out.fuse(out.args()[d], fused, f2);
    fused = f2;
  }
  int64_t rows_per_task = std::max<int64_t>(1, kTaskElements / std::max<int64_t>(inner, 1));
  out.parallel(fused, static_cast<int>(std::min<int64_t>(rows_per_task, outer)), Halide::TailStrategy::GuardWithIf);
}

int64_t normalize_axis(const LowerContext& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) ctx.unsupported("axis out of range");
  return axis < 0 ? axis + rank : axis;
}

Expr cast_to(DType t, Expr e) { return Halide::cast(halide_type(t), std::move(e)); }

Expr lowest_value(DType t) {
  Halide::Type h = halide_type(t);
  return h.is_float() ? Halide::cast(h, Expr(-INFINITY)) : h.min();
}
Expr highest_value(DType t) {
  Halide::Type h = halide_type(t);
  return h.is_float() ? Halide::cast(h, Expr(INFINITY)) : h.max();
}

}  // namespace nnc::cpu
