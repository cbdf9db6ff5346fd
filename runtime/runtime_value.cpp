#include "runtime/runtime_value.h"

#include "ir/error.h"

namespace nnc {

RuntimeValue RuntimeValue::of_sequence(DType elem, std::vector<Tensor> items) {
  RuntimeValue r;
  r.kind = TypeKind::Sequence;
  r.elem_type = elem;
  r.sequence = std::move(items);
  return r;
}

RuntimeValue RuntimeValue::empty_optional(TypeKind kind, DType elem) {
  RuntimeValue r;
  r.kind = kind;
  r.optional = true;
  r.present = false;
  r.elem_type = elem;
  return r;
}

RuntimeValue RuntimeValue::as_optional() const {
  RuntimeValue r = *this;
  r.optional = true;
  return r;
}

std::string RuntimeValue::type_str() const {
  std::string s;
  if (!present) s = "none";
  else if (kind == TypeKind::Sequence) s = std::string("seq(") + dtype_name(elem_type) + ") of " + std::to_string(sequence.size());
  else s = dtype_name(tensor.dtype()) + shape_str(tensor.shape());
  return optional ? "optional(" + s + ")" : s;
}

static void check_tensor(const Value& v, const Tensor& t, const std::string& what) {
  if (v.dtype != DType::Undefined && t.dtype() != v.dtype)
    throw Error(what + " expects " + dtype_name(v.dtype) + ", got " + dtype_name(t.dtype()), ErrorKind::Runtime);
  if (!v.dims || v.kind == TypeKind::Sequence) return;
  bool ok = v.dims->size() == t.shape().size();
  for (size_t i = 0; ok && i < t.shape().size(); ++i)
    ok = !(*v.dims)[i].is_static() || (*v.dims)[i].value == t.shape()[i];
  if (!ok) throw Error(what + " expects shape " + dims_str(*v.dims) + ", got " + shape_str(t.shape()), ErrorKind::Runtime);
}

void check_value_type(const Value& v, const RuntimeValue& data, const std::string& what) {
  if (v.kind != data.kind || (!v.optional && data.optional))
    throw Error(what + " expects " + v.type_str() + ", got " + data.type_str(), ErrorKind::Runtime);
  if (!data.present) return;
  if (data.kind == TypeKind::Tensor) return check_tensor(v, data.tensor, what);
  if (v.dtype != DType::Undefined && data.elem_type != v.dtype)
    throw Error(what + " expects " + v.type_str() + ", got " + data.type_str(), ErrorKind::Runtime);
  for (const Tensor& t : data.sequence) check_tensor(v, t, what + "'s element");
}

}  // namespace nnc
