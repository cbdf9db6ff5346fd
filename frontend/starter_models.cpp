#include "frontend/starter_models.h"

#include <algorithm>
#include <set>

#include "frontend/builder.h"
#include "ir/checked.h"
#include "ir/error.h"
#include "passes/pattern.h"

namespace nnc {

namespace {

void require(bool cond, const std::string& what) {
  if (!cond) throw Error("starter model: " + what);
}

std::string shape_text(const Shape& s) {  // "1x28x28"
  std::string out;
  for (int64_t d : s) out += (out.empty() ? "" : "x") + std::to_string(d);
  return out;
}

void validate(const std::string& kind, const StarterOptions& o) {
  require(!o.input.empty(), "the input shape is empty");
  for (int64_t d : o.input) require(d >= 1, "input dims must be positive, got " + shape_text(o.input));
  require(o.classes >= 1, "classes must be positive, got " + std::to_string(o.classes));
  require(o.dropout >= 0 && o.dropout < 1, "dropout must be in [0, 1), got " + std::to_string(o.dropout));
  for (int64_t h : o.hidden) require(h >= 1, "hidden widths must be positive, got " + std::to_string(h));
  if (kind == "cnn" || kind == "resnet") {
    require(o.input.size() == 3, kind + " needs a channels x height x width input, got " + shape_text(o.input));
    require(o.width >= 1, "width must be positive, got " + std::to_string(o.width));
  }
  if (kind == "cnn")
    require(o.input[1] >= 4 && o.input[2] >= 4, "cnn halves the image twice, so it needs at least 4x4, got " +
                                                    shape_text(o.input));
  if (kind == "resnet") require(o.blocks >= 1, "blocks must be positive, got " + std::to_string(o.blocks));
}

// Builds one model with the Builder's layers; Dropout nodes are numbered dropout1, dropout2, ...
class StarterBuilder {
 public:
  StarterBuilder(const std::string& kind, const StarterOptions& o) : b_(kind, o.seed), o_(o) {}

  std::unique_ptr<Graph> finish(Value* logits) {
    b_.output(logits, "logits");
    return b_.finish();
  }

  // x [N, prod(input)]: the MLPs take flattened samples.
  Value* flat_input(int64_t* features) {
    *features = 1;
    for (int64_t d : o_.input) *features = checked_mul(*features, d, "input size");
    return b_.input("x", DType::Float32, {Dim::sym("N"), Dim::fixed(*features)});
  }

  Value* image_input() {
    Dims dims{Dim::sym("N")};
    for (int64_t d : o_.input) dims.push_back(Dim::fixed(d));
    return b_.input("x", DType::Float32, std::move(dims));
  }

  // Inference-mode Dropout (the identity until a training graph turns it into a mask),
  // with the ratio as a constant input so trainers can read it.
  Value* dropout(Value* x) {
    if (o_.dropout <= 0) return x;
    std::string name = "dropout" + std::to_string(++dropouts_);
    Value* ratio = b_.param(name + ".ratio", Tensor::scalar_float(static_cast<float>(o_.dropout)));
    return b_.op(OpKind::Dropout, {x, ratio});
  }

  Value* mlp() {
    int64_t in = 0;
    Value* x = flat_input(&in);
    int layer = 1;
    for (int64_t width : o_.hidden) {
      x = dropout(b_.relu(b_.linear(x, in, width, "fc" + std::to_string(layer++))));
      in = width;
    }
    return b_.linear(x, in, o_.classes, "fc" + std::to_string(layer));
  }

  // SwiGLU in standard ops: silu(gate(x)) * up(x), with silu(a) = a * sigmoid(a).
  Value* glu_mlp() {
    int64_t in = 0;
    Value* x = flat_input(&in);
    const int64_t hidden = o_.hidden.empty() ? 256 : o_.hidden[0];
    Value* a = b_.linear(x, in, hidden, "gate");
    Value* u = b_.linear(x, in, hidden, "up");
    Value* silu = b_.op(OpKind::Mul, {a, b_.op(OpKind::Sigmoid, {a})});
    Value* h = dropout(b_.op(OpKind::Mul, {silu, u}));
    return b_.linear(h, hidden, o_.classes, "head");
  }

  Value* cnn() {
    Value* x = image_input();
    const int64_t c = o_.input[0], w = o_.width;
    auto stage = [&](Value* v, int64_t in, int64_t out, const std::string& k) {
      v = b_.relu(b_.batch_norm(b_.conv2d(v, in, out, 3, 1, 1, "conv" + k), out, "bn" + k));
      return b_.max_pool(v, 2, 2);
    };
    x = stage(stage(x, c, w, "1"), w, 2 * w, "2");
    // 3x3 convs with padding 1 keep the size; each 2x2 max pool floors it to half.
    int64_t features = checked_mul(2 * w, checked_mul(o_.input[1] / 4, o_.input[2] / 4, "cnn"), "cnn features");
    x = dropout(b_.relu(b_.linear(b_.flatten(x), features, 128, "fc1")));
    return b_.linear(x, 128, o_.classes, "fc2");
  }

  Value* resnet() {
    Value* x = image_input();
    const int64_t w = o_.width;
    x = b_.relu(conv_bn(x, o_.input[0], w, 3, 1, "stem.conv", "stem.bn"));
    int64_t in = w;
    for (int stage = 1; stage <= 2; ++stage) {
      const int64_t out = stage == 1 ? w : 2 * w;
      for (int64_t block = 0; block < o_.blocks; ++block) {
        const int64_t stride = stage == 2 && block == 0 ? 2 : 1;
        x = basic_block(x, in, out, stride, "stage" + std::to_string(stage) + ".block" + std::to_string(block));
        in = out;
      }
    }
    x = dropout(b_.flatten(b_.global_avg_pool(x)));
    return b_.linear(x, in, o_.classes, "fc");
  }

 private:
  Value* conv_bn(Value* x, int64_t in, int64_t out, int64_t kernel, int64_t stride, const std::string& conv,
                 const std::string& bn) {
    return b_.batch_norm(b_.conv2d(x, in, out, kernel, stride, kernel / 2, conv), out, bn);
  }

  // relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut is a 1x1 conv + BN
  // projection where the block changes the channels or the resolution, else the identity.
  Value* basic_block(Value* x, int64_t in, int64_t out, int64_t stride, const std::string& p) {
    Value* y = b_.relu(conv_bn(x, in, out, 3, stride, p + ".conv1", p + ".bn1"));
    y = conv_bn(y, out, out, 3, 1, p + ".conv2", p + ".bn2");
    Value* shortcut = x;
    if (stride != 1 || in != out) shortcut = conv_bn(x, in, out, 1, stride, p + ".shortcut.conv", p + ".shortcut.bn");
    return b_.relu(b_.add(y, shortcut));
  }

  Builder b_;
  const StarterOptions& o_;
  int dropouts_ = 0;
};

bool is_float_constant(const Value* v) { return v && v->is_initializer() && is_float(v->initializer->dtype()); }

// A float32 tensor from the initialisers, in the dtype the replaced constant had.
Tensor in_dtype(Tensor t, DType dtype) { return dtype == DType::Float32 ? t : t.cast(dtype); }

// Sets input i of n to the constant t: in place when n is the old constant's only reader
// (so its name is kept), else as a new initializer named after `name`. Returns whether a new
// initializer was added (the old value may then be unused).
bool set_constant(Graph& g, Node* n, size_t i, Tensor t, const std::string& name) {
  Value* old = n->input(i);
  if (old && old->is_initializer() && old->users.size() == 1 && !g.is_output(old)) {
    Dims dims;
    for (int64_t d : t.shape()) dims.push_back(Dim::fixed(d));
    old->dims = std::move(dims);
    old->dtype = t.dtype();
    old->initializer = std::make_shared<const Tensor>(std::move(t));
    return false;
  }
  g.set_input(n, i, g.add_initializer(g.find_value(name) ? g.unique_name(name) : name, std::move(t)));
  return true;
}

}  // namespace

const std::vector<std::string>& starter_model_kinds() {
  static const std::vector<std::string> kinds = {"mlp", "cnn", "resnet", "glu-mlp"};
  return kinds;
}

std::unique_ptr<Graph> build_starter_model(const std::string& kind, const StarterOptions& o) {
  const auto& kinds = starter_model_kinds();
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
    std::string valid;
    for (const std::string& k : kinds) valid += (valid.empty() ? "" : ", ") + k;
    throw Error("unknown starter model '" + kind + "' (valid: " + valid + ")");
  }
  validate(kind, o);
  StarterBuilder sb(kind, o);
  Value* logits = kind == "mlp" ? sb.mlp() : kind == "glu-mlp" ? sb.glu_mlp() : kind == "cnn" ? sb.cnn() : sb.resnet();
  std::unique_ptr<Graph> g = sb.finish(logits);  // ONNX's checker and shape inference
  initialize_weights(*g, o.init, o.seed);
  return g;
}

void initialize_weights(Graph& g, InitScheme scheme, uint64_t seed) {
  std::set<const Value*> done;  // a weight shared by several layers is initialised once
  uint64_t index = 0;
  auto init = [&](Value* w, Fans fans) {
    if (!done.insert(w).second) return;
    const Tensor& old = *w->initializer;
    Tensor t = initialize(scheme, old.shape(), fans, seed + index++);
    w->initializer = std::make_shared<const Tensor>(in_dtype(std::move(t), old.dtype()));
  };
  auto zero = [&](Value* bias) {
    if (!is_float_constant(bias) || !done.insert(bias).second) return;
    bias->initializer = std::make_shared<const Tensor>(Tensor(bias->initializer->dtype(), bias->initializer->shape()));
  };
  for (const auto& node : g.nodes()) {
    Node* n = node.get();
    Value* w = n->input(1);
    if (n->removed || !is_float_constant(w)) continue;
    const Shape& shape = w->initializer->shape();
    switch (n->op) {
      case OpKind::Gemm:
        init(w, linear_fans(shape, n->attrs.get_int("transB", 0) != 0));
        zero(n->input(2));
        break;
      case OpKind::MatMul:
        if (shape.size() == 2) init(w, linear_fans(shape, false));  // batched B: no agreed fans
        break;
      case OpKind::Conv:
      case OpKind::ConvTranspose:
        init(w, conv_fans(shape));
        zero(n->input(2));
        break;
      default:
        break;
    }
  }
}

void replace_head(Graph& g, int64_t classes, InitScheme scheme, uint64_t seed) {
  check(classes >= 1, "replace_head: classes must be positive, got " + std::to_string(classes));
  check(!g.outputs.empty(), "replace_head: the graph has no outputs");
  Value* out = g.outputs[0];
  Node* gemm = producer_of(out, OpKind::Gemm);
  check(gemm != nullptr, "replace_head: the first output '" + out->name + "' is not produced by a Gemm" +
                             (out->producer ? " but by " + out->producer->label() : std::string()));
  Value* w = gemm->input(1);
  check(is_float_constant(w) && w->initializer->rank() == 2,
        "replace_head: " + gemm->label() + " has no constant 2-D float weight");
  // Nodes reading the logits would be left with stale shapes.
  check(out->users.empty(), "replace_head: the output '" + out->name + "' is also read by other nodes");

  const bool trans_b = gemm->attrs.get_int("transB", 0) != 0;
  const Shape& old_shape = w->initializer->shape();
  const int64_t in = trans_b ? old_shape[1] : old_shape[0];
  const Shape shape = trans_b ? Shape{classes, in} : Shape{in, classes};
  const DType dtype = w->initializer->dtype();
  const std::string weight_name = w->name;
  Value* bias = gemm->input(2);
  const std::string bias_name = bias ? bias->name : gemm->name + ".bias";

  Tensor weight = in_dtype(initialize(scheme, shape, linear_fans(shape, trans_b), seed), dtype);
  bool added = set_constant(g, gemm, 1, std::move(weight), weight_name);
  added |= set_constant(g, gemm, 2, Tensor(dtype, {classes}), bias_name);
  if (out->dims && !out->dims->empty()) out->dims->back() = Dim::fixed(classes);
  if (added) g.collect_garbage();  // drops the old weight or bias when nothing else reads it
}

void add_head(Graph& g, int64_t classes, InitScheme scheme, uint64_t seed) {
  check(classes >= 1, "add_head: classes must be positive, got " + std::to_string(classes));
  check(!g.outputs.empty(), "add_head: the graph has no outputs");
  Value* out = g.outputs[0];
  check(out->dims && out->dims->size() == 2 && out->dims->back().is_static() && is_float(out->dtype),
        "add_head: the first output '" + out->name + "' must be a float [batch, features] tensor, it is " + out->type_str());
  const int64_t features = out->dims->back().value;
  Node* relu = g.add_node(OpKind::Relu, {out}, 1, g.unique_name("head_relu"));
  relu->outputs[0]->dtype = out->dtype;
  relu->outputs[0]->dims = out->dims;
  const std::string prefix = g.find_value("head.weight") ? g.unique_name("head") : "head";
  const Shape shape{classes, features};
  Value* w = g.add_initializer(prefix + ".weight", in_dtype(initialize(scheme, shape, linear_fans(shape, true), seed), out->dtype));
  Value* b = g.add_initializer(prefix + ".bias", Tensor(out->dtype, {classes}));
  Attributes attrs;
  attrs.set("transB", int64_t{1});
  Value* y = g.add_node(OpKind::Gemm, {relu->outputs[0], w, b}, 1, prefix, std::move(attrs))->outputs[0];
  y->dtype = out->dtype;
  y->dims = Dims{out->dims->front(), Dim::fixed(classes)};
  // The new head's output takes over the output's name, so the model's interface stays.
  const std::string name = out->name;
  out->name = g.unique_name(name + "_features");
  y->name = name;
  g.outputs[0] = y;
}

int64_t count_parameters(const Graph& g) {
  std::set<const Value*> ratios;
  for (const auto& n : g.nodes())
    if (!n->removed && n->op == OpKind::Dropout && n->input(1)) ratios.insert(n->input(1));
  int64_t total = 0;
  for (const Value* v : g.initializers)
    if (is_float_constant(v) && !ratios.count(v)) total += v->initializer->numel();
  return total;
}

}  // namespace nnc
