// What flows along an edge at run time: a tensor (nearly always), a sequence of tensors, or
// an optional holding either or nothing — ONNX's three value types (see TypeKind).
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace nnc {

struct RuntimeValue {
  TypeKind kind = TypeKind::Tensor;
  bool optional = false;
  bool present = true;             // false only for an empty optional
  DType elem_type = DType::Undefined;  // sequences: the element type, kept when empty
  Tensor tensor;                   // kind Tensor
  std::vector<Tensor> sequence;    // kind Sequence

  RuntimeValue() = default;
  RuntimeValue(Tensor t) : elem_type(t.dtype()), tensor(std::move(t)) {}  // NOLINT: implicit on purpose
  static RuntimeValue of_sequence(DType elem, std::vector<Tensor> items);
  static RuntimeValue empty_optional(TypeKind kind, DType elem);
  RuntimeValue as_optional() const;  // the same contents wrapped in an optional

  bool is_plain_tensor() const { return kind == TypeKind::Tensor && !optional; }
  std::string type_str() const;  // "float32[2,3]", "seq(float32) of 3", "optional(none)"
};

using RuntimeValues = std::vector<RuntimeValue>;

// A clear error unless `data` can be bound to a value declared as v (kind, optional, element
// type, static dims); `what` names it ("input 'x'").
void check_value_type(const Value& v, const RuntimeValue& data, const std::string& what);

}  // namespace nnc
