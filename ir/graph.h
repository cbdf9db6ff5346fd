// The IR: a Graph owns Values (tensors flowing between nodes) and Nodes (op applications).
// Nodes are kept in topological order; use lists are maintained by the mutators below.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/attributes.h"
#include "ir/ops.h"
#include "ir/tensor.h"

namespace nnc {

class Node;

// One dimension: a static size, or a symbol (e.g. the batch dim "N"), or unknown.
struct Dim {
  int64_t value = -1;    // >= 0 when static
  std::string symbol;    // set when symbolic
  static Dim fixed(int64_t v) { return Dim{v, {}}; }
  static Dim sym(std::string s) { return Dim{-1, std::move(s)}; }
  bool is_static() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
};
using Dims = std::vector<Dim>;
std::string dims_str(const Dims& d);  // "[N,3,224,224]"

class Value {
 public:
  std::string name;
  DType dtype = DType::Undefined;
  std::optional<Dims> dims;                 // empty when the rank is unknown (a sequence's elements' dims)
  TypeKind kind = TypeKind::Tensor;
  bool optional = false;                    // an optional holding a `kind`
  Node* producer = nullptr;                 // null for graph inputs and initializers
  std::vector<Node*> users;                 // one entry per use (a node using it twice is listed twice)
  std::shared_ptr<const Tensor> initializer;  // set for weights and other constants

  bool is_initializer() const { return initializer != nullptr; }
  bool has_static_shape() const;
  Shape static_shape() const;  // throws when not static
  bool is_plain_tensor() const { return kind == TypeKind::Tensor && !optional; }
  std::string type_str() const;  // "float32[N,3]", "seq(float32[?])", "optional(int64[])"
};

class Node {
 public:
  OpKind op = OpKind::Unsupported;
  std::string op_type;  // the ONNX op name; differs from op_name(op) only for Unsupported
  std::string domain;   // the ONNX domain, "" for the default one
  std::string name;
  std::vector<Value*> inputs;   // nullptr marks an omitted optional input
  std::vector<Value*> outputs;  // nullptr marks an omitted optional output
  // Control-flow nodes: the last num_captured inputs are the outer-scope values their
  // subgraphs read by name (ONNX's implicit inputs), one block per subgraph attribute in
  // attribute-name order, matching each subgraph's Graph::captures. Passes see them as uses.
  size_t num_captured = 0;
  Attributes attrs;
  bool removed = false;  // set by Graph::remove_node; the object lives until collect_garbage()

  Value* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  size_t num_explicit_inputs() const { return inputs.size() - num_captured; }
  // The graph-valued attributes, in attribute-name order (the order of the captured blocks).
  std::vector<std::pair<std::string, const Graph*>> subgraphs() const;
  std::string label() const;  // "Conv 'conv1'" for error messages
};

class Graph {
 public:
  std::string name = "main";
  int64_t opset = 17;             // the default-domain opset the graph's ops follow
  std::vector<Value*> inputs;     // runtime inputs (initializers are not listed)
  std::vector<Value*> outputs;
  std::vector<Value*> initializers;
  // Subgraphs only: values that stand for outer-scope values of the same name; at run time
  // they are bound to the owning node's captured inputs, in this order.
  std::vector<Value*> captures;

  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  Value* add_value(const std::string& name, DType dtype = DType::Undefined, std::optional<Dims> dims = {});
  Value* add_input(const std::string& name, DType dtype, Dims dims);
  Value* add_initializer(const std::string& name, Tensor t);
  Value* add_capture(const std::string& name);
  // Appends a node; outputs get fresh values named after the node when names are empty.
  Node* add_node(OpKind op, const std::vector<Value*>& inputs, int num_outputs, const std::string& name = {},
                 Attributes attrs = {});
  Node* add_unsupported_node(const std::string& domain, const std::string& op_type,
                             const std::vector<Value*>& inputs, const std::vector<Value*>& outputs,
                             const std::string& name);
  void set_producer(Node* n, int index, Value* v);  // wires v as output `index` of n

  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  const std::vector<std::unique_ptr<Value>>& values() const { return values_; }
  Value* find_value(const std::string& name) const;

  // Nodes ordered so that producers come first; throws nnc::Error naming a node on a cycle.
  std::vector<Node*> topological_order() const;
  // Reorders nodes_ topologically (after import or rewrites).
  void sort_topologically();

  std::string unique_name(const std::string& base);

  // ---- rewriting, for the passes ----
  bool is_output(const Value* v) const;
  void set_input(Node* n, size_t i, Value* v);  // rewires input i (nullptr omits it)
  // Makes every user of `from`, and the graph outputs, use `to` instead. When `from` is a graph
  // output, `to` takes its name so the model's interface stays the same; that is impossible
  // (returns false, changes nothing) when `to` is a graph input, an initializer or an output.
  bool replace_value(Value* from, Value* to);
  // Detaches n from its inputs and outputs and marks it removed. Pointers to it stay valid
  // until collect_garbage(), so a pass may remove nodes while walking a list of them.
  void remove_node(Node* n);
  // Frees removed nodes, and values that nothing produces or uses and that are not graph
  // inputs or outputs (unused initializers included).
  void collect_garbage();

 private:
  std::vector<std::unique_ptr<Node>> removed_nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<std::unique_ptr<Node>> nodes_;
  int64_t name_counter_ = 0;
};

}  // namespace nnc
