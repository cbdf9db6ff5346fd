#include "ir/attributes.h"

#include <sstream>

#include "ir/error.h"
#include "ir/graph.h"

namespace nnc {

template <class T>
const T* Attributes::find(const std::string& name) const {
  auto it = map_.find(name);
  if (it == map_.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  if (!v) throw Error("attribute '" + name + "' has the wrong type");
  return v;
}

int64_t Attributes::get_int(const std::string& name, int64_t def) const {
  const int64_t* v = find<int64_t>(name);
  return v ? *v : def;
}

float Attributes::get_float(const std::string& name, float def) const {
  auto it = map_.find(name);
  if (it == map_.end()) return def;
  if (auto* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  const float* f = find<float>(name);
  return *f;
}

std::string Attributes::get_string(const std::string& name, const std::string& def) const {
  const std::string* v = find<std::string>(name);
  return v ? *v : def;
}

std::vector<int64_t> Attributes::get_ints(const std::string& name, std::vector<int64_t> def) const {
  const auto* v = find<std::vector<int64_t>>(name);
  return v ? *v : def;
}

std::vector<float> Attributes::get_floats(const std::string& name, std::vector<float> def) const {
  const auto* v = find<std::vector<float>>(name);
  return v ? *v : def;
}

const Tensor* Attributes::get_tensor(const std::string& name) const { return find<Tensor>(name); }

bool Attributes::operator==(const Attributes& o) const {
  if (map_.size() != o.map_.size()) return false;
  for (auto& [k, v] : map_) {
    auto it = o.map_.find(k);
    if (it == o.map_.end() || it->second.index() != v.index()) return false;
    if (!(v == it->second)) {  // subgraphs compare by identity: two nodes share one only when copied
      return false;
    }
  }
  return true;
}

template <class T>
static std::string join(const std::vector<T>& v) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  s << "]";
  return s.str();
}

std::string attr_to_string(const AttrValue& v) {
  struct Visitor {
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(float f) const { std::ostringstream s; s << f; return s.str(); }
    std::string operator()(const std::string& s) const { return "\"" + s + "\""; }
    std::string operator()(const Tensor& t) const { return std::string("tensor<") + dtype_name(t.dtype()) + shape_str(t.shape()) + ">"; }
    std::string operator()(const std::vector<int64_t>& v) const { return join(v); }
    std::string operator()(const std::vector<float>& v) const { return join(v); }
    std::string operator()(const std::vector<std::string>& v) const { return join(v); }
    std::string operator()(const std::shared_ptr<Graph>& g) const { return "graph<" + (g ? g->name : "") + ">"; }
    std::string operator()(const TypeAttr& t) const {
      std::string s = dtype_name(t.elem);
      if (t.kind == TypeKind::Sequence) s = "seq(" + s + ")";
      return "type<" + (t.optional ? "optional(" + s + ")" : s) + ">";
    }
  };
  return std::visit(Visitor{}, v);
}

}  // namespace nnc
