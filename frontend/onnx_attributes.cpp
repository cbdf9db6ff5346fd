#include "frontend/onnx_attributes.h"

#include <onnx/onnx_pb.h>

#include "frontend/onnx.h"
#include "frontend/onnx_types.h"
#include "ir/error.h"

namespace nnc {

AttrValue attribute_from_proto(const onnx::AttributeProto& a) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: return a.i();
    case A::FLOAT: return a.f();
    case A::STRING: return a.s();
    case A::TENSOR: return tensor_from_proto(a.t());
    case A::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    case A::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case A::TYPE_PROTO: return type_from_proto(a.tp(), "attribute '" + a.name() + "'").type;
    // GRAPH attributes are built by the importer, which resolves their outer-scope names.
    default: throw Error("attribute '" + a.name() + "' has an unsupported type");
  }
}

onnx::AttributeProto attribute_to_proto(const std::string& name, const AttrValue& v) {
  using A = onnx::AttributeProto;
  A a;
  a.set_name(name);
  if (auto* i = std::get_if<int64_t>(&v)) { a.set_type(A::INT); a.set_i(*i); }
  else if (auto* f = std::get_if<float>(&v)) { a.set_type(A::FLOAT); a.set_f(*f); }
  else if (auto* s = std::get_if<std::string>(&v)) { a.set_type(A::STRING); a.set_s(*s); }
  else if (auto* t = std::get_if<Tensor>(&v)) { a.set_type(A::TENSOR); *a.mutable_t() = tensor_to_proto(*t); }
  else if (auto* is = std::get_if<std::vector<int64_t>>(&v)) { a.set_type(A::INTS); for (auto x : *is) a.add_ints(x); }
  else if (auto* fs = std::get_if<std::vector<float>>(&v)) { a.set_type(A::FLOATS); for (auto x : *fs) a.add_floats(x); }
  else if (auto* ss = std::get_if<std::vector<std::string>>(&v)) { a.set_type(A::STRINGS); for (auto& x : *ss) a.add_strings(x); }
  else if (auto* t = std::get_if<TypeAttr>(&v)) { a.set_type(A::TYPE_PROTO); type_to_proto(*t, std::nullopt, a.mutable_tp()); }
  else throw Error("attribute '" + name + "': subgraphs are written by the exporter");
  return a;
}

}  // namespace nnc
