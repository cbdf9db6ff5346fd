// Node attributes: a name -> value map with typed getters that throw clear errors.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "ir/tensor.h"

namespace nnc {

class Graph;

// ONNX's value types beside plain tensors: a sequence of tensors, and an optional that holds
// a tensor or a sequence, or nothing. Element types are kept beside (Value::dtype).
enum class TypeKind : uint8_t { Tensor, Sequence };

// A TYPE_PROTO attribute (the Optional op's "type"): the value type it names.
struct TypeAttr {
  TypeKind kind = TypeKind::Tensor;
  bool optional = false;
  DType elem = DType::Undefined;
  bool operator==(const TypeAttr&) const = default;
};

using AttrValue = std::variant<int64_t, float, std::string, Tensor, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, std::shared_ptr<Graph>, TypeAttr>;

class Attributes {
 public:
  bool has(const std::string& name) const { return map_.count(name) != 0; }
  void set(const std::string& name, AttrValue v) { map_[name] = std::move(v); }
  void erase(const std::string& name) { map_.erase(name); }
  const std::map<std::string, AttrValue>& all() const { return map_; }

  int64_t get_int(const std::string& name, int64_t def) const;
  float get_float(const std::string& name, float def) const;  // accepts an int attribute too
  std::string get_string(const std::string& name, const std::string& def) const;
  std::vector<int64_t> get_ints(const std::string& name, std::vector<int64_t> def = {}) const;
  std::vector<float> get_floats(const std::string& name, std::vector<float> def = {}) const;
  const Tensor* get_tensor(const std::string& name) const;  // nullptr when absent

  bool operator==(const Attributes& o) const;

 private:
  template <class T> const T* find(const std::string& name) const;
  std::map<std::string, AttrValue> map_;
};

std::string attr_to_string(const AttrValue& v);  // for the printer

}  // namespace nnc
