// AttributeProto <-> AttrValue.
#pragma once
#include "ir/attributes.h"

namespace onnx { class AttributeProto; }

namespace nnc {

AttrValue attribute_from_proto(const onnx::AttributeProto& a);
onnx::AttributeProto attribute_to_proto(const std::string& name, const AttrValue& v);

}  // namespace nnc
