#include "ir/printer.h"

#include <sstream>

namespace nnc {

static std::string type_str(const Value* v) { return v->type_str(); }

static std::string value_ref(const Value* v) { return v ? "%" + v->name : "_"; }

// Each line of text, indented.
static std::string indented(const std::string& text, const std::string& pad) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size() - 1;
    out += pad + text.substr(start, end - start + 1);
    start = end + 1;
  }
  return out;
}

std::string print_graph(const Graph& g) {
  std::ostringstream os;
  os << "graph " << g.name << " (opset " << g.opset << ")\n";
  for (const Value* v : g.inputs) os << "  input  " << value_ref(v) << ": " << type_str(v) << "\n";
  for (const Value* v : g.captures) os << "  outer  " << value_ref(v) << ": " << type_str(v) << "\n";
  for (const Value* v : g.initializers) os << "  init   " << value_ref(v) << ": " << type_str(v) << "\n";
  for (const Node* n : g.topological_order()) {
    os << "  ";
    for (size_t i = 0; i < n->outputs.size(); ++i) os << (i ? ", " : "") << value_ref(n->outputs[i]);
    os << " = " << (n->domain.empty() ? "" : n->domain + ".") << n->op_type << "(";
    for (size_t i = 0; i < n->inputs.size(); ++i)
      os << (i == n->num_explicit_inputs() ? "; captures " : i ? ", " : "") << value_ref(n->inputs[i]);
    os << ")";
    if (!n->attrs.all().empty()) {
      os << " {";
      bool first = true;
      for (auto& [k, v] : n->attrs.all()) {
        os << (first ? "" : ", ") << k << "=" << attr_to_string(v);
        first = false;
      }
      os << "}";
    }
    if (n->outputs.size() == 1 && n->outputs[0]) os << " : " << type_str(n->outputs[0]);
    os << "\n";
    for (const auto& [attr, sub] : n->subgraphs()) os << "    " << attr << ":\n" << indented(print_graph(*sub), "      ");
  }
  for (const Value* v : g.outputs) os << "  output " << value_ref(v) << "\n";
  return os.str();
}

}  // namespace nnc
