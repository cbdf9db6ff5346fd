#include "frontend/onnx_functions.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <utility>

#include "frontend/onnx_attributes.h"
#include "ir/error.h"

namespace nnc {
namespace {

using AP = onnx::AttributeProto;

constexpr const char* kActivation = "activation";
constexpr const char* kActivationAlpha = "activation_alpha";
constexpr const char* kActivationBeta = "activation_beta";

// A body attribute taking its value from the call's attribute `ref`.
AP ref_attr(const std::string& name, const std::string& ref, int type) {
  AP a;
  a.set_name(name);
  a.set_ref_attr_name(ref);
  a.set_type(static_cast<AP::AttributeType>(type));
  return a;
}

// Appends nodes to a function body; intermediate values are named t0, t1, ...
class Body {
 public:
  Body(onnx::FunctionProto& f, int opset) : f_(f), opset_(opset) {}

  const onnx::OpSchema* schema(const std::string& op) const {
    return onnx::OpSchemaRegistry::Schema(op, opset_, "");
  }

  std::vector<std::string> nodes(const std::string& op, const std::vector<std::string>& ins, int num_outputs,
                                 const std::vector<AP>& attrs = {}) {
    if (!schema(op))
      throw Error("its ONNX form needs the op " + op + ", which opset " + std::to_string(opset_) + " lacks");
    auto* np = f_.add_node();
    np->set_op_type(op);
    for (const auto& in : ins) np->add_input(in);
    std::vector<std::string> outs;
    for (int i = 0; i < num_outputs; ++i) {
      outs.push_back("t" + std::to_string(counter_++));
      np->add_output(outs.back());
    }
    for (const auto& a : attrs) *np->add_attribute() = a;
    return outs;
  }
  std::string node(const std::string& op, const std::vector<std::string>& ins, const std::vector<AP>& attrs = {}) {
    return nodes(op, ins, 1, attrs)[0];
  }
  // The constant v with the element type of `like`.
  std::string constant(float v, const std::string& like) {
    AP a;
    a.set_name("value_float");
    a.set_type(AP::FLOAT);
    a.set_f(v);
    return node("CastLike", {node("Constant", {}, {a}), like});
  }
  // The call's float attribute `attr` with the element type of `like`.
  std::string constant_from_attr(const std::string& attr, const std::string& like) {
    return node("CastLike", {node("Constant", {}, {ref_attr("value_float", attr, AP::FLOAT)}), like});
  }
  // Makes `result` the function's output `out`.
  void finish(const std::string& result, const std::string& out) {
    int last = f_.node_size() - 1;
    if (last < 0 || f_.node(last).output_size() != 1 || f_.node(last).output(0) != result) {
      node("Identity", {result});  // the result is an input or an earlier value
      last = f_.node_size() - 1;
    }
    f_.mutable_node(last)->set_output(0, out);
    f_.add_output(out);
  }

 private:
  onnx::FunctionProto& f_;
  int opset_;
  int counter_ = 0;
};

// act(x) in standard ops, for the op named `act` ("" = identity); `operand` is the
// activation's second input (PRelu's slope), "" when the call has none.
std::string emit_activation(Body& b, const std::string& act, const std::string& x, const std::string& operand) {
  if (act.empty()) return x;
  if (auto k = find_op(kNncDomain, act)) {
    switch (*k) {
      case OpKind::Silu:  // x * sigmoid(x)
        return b.node("Mul", {x, b.node("Sigmoid", {x})});
      case OpKind::Mish:  // x * tanh(softplus(x))
        return b.node("Mul", {x, b.node("Tanh", {b.node("Softplus", {x})})});
      case OpKind::Gelu: {  // 0.5 * x * (1 + erf(x / sqrt(2)))
        std::string e = b.node("Erf", {b.node("Mul", {x, b.constant(0.70710678118654752440f, x)})});
        std::string half_x = b.node("Mul", {x, b.constant(0.5f, x)});
        return b.node("Mul", {half_x, b.node("Add", {e, b.constant(1.0f, x)})});
      }
      case OpKind::GeluTanh: {  // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
        std::string x3 = b.node("Mul", {b.node("Mul", {x, x}), x});
        std::string inner = b.node("Add", {x, b.node("Mul", {x3, b.constant(0.044715f, x)})});
        std::string t = b.node("Tanh", {b.node("Mul", {inner, b.constant(0.79788456080286535588f, x)})});
        std::string half_x = b.node("Mul", {x, b.constant(0.5f, x)});
        return b.node("Mul", {half_x, b.node("Add", {t, b.constant(1.0f, x)})});
      }
      default:
        throw Error("activation '" + act + "' has no form in standard ONNX ops");
    }
  }
  auto k = find_op("", act);
  const onnx::OpSchema* schema = b.schema(act);
  if (!k || !schema) throw Error("unknown activation '" + act + "'");
  if (*k == OpKind::PRelu) {
    if (operand.empty()) throw Error("activation PRelu needs its slope input");
    return b.node("PRelu", {x, operand});
  }
  if (*k == OpKind::Clip)  // bounds from activation_alpha/activation_beta (always on the call)
    return b.node("Clip", {x, b.constant_from_attr(kActivationAlpha, x), b.constant_from_attr(kActivationBeta, x)});
  if (schema->min_input() > 1 || schema->max_input() < 1 || schema->min_output() > 1)
    throw Error("'" + act + "' is not a one-input activation");
  std::vector<AP> attrs;
  const OpInfo& info = op_info(*k);
  for (const auto& [attr, ref] : {std::pair{info.attr_a, kActivationAlpha}, std::pair{info.attr_b, kActivationBeta}}) {
    if (!*attr) continue;
    auto it = schema->attributes().find(attr);
    if (it == schema->attributes().end() || it->second.type != AP::FLOAT)
      throw Error("activation '" + act + "': ONNX has no float attribute '" + attr + "'");
    attrs.push_back(ref_attr(attr, ref, AP::FLOAT));
  }
  return b.node(act, {x}, attrs);
}

// The function input name for IR input slot `slot` of op `op` taking `count` inputs.
std::string input_name(OpKind op, int64_t slot, size_t count) {
  const OpInfo& info = op_info(op);
  if (info.category == OpCategory::Fused) {
    if (slot < info.fused_base_arity) return "input" + std::to_string(slot);
    return slot == info.fused_base_arity ? "residual" : "slope";
  }
  if (op == OpKind::Gate && count == 2) return slot == 0 ? "u" : "g";
  return "x";
}

// The function `name`: op with activation `act`, taking the IR input slots `slots`, called
// with attributes of the types `attr_types`.
onnx::FunctionProto build_function(int opset, const std::string& name, OpKind op, const std::string& act,
                                   const std::vector<int64_t>& slots, const std::map<std::string, int>& attr_types) {
  onnx::FunctionProto f;
  f.set_name(name);
  f.set_domain(kNncDomain);
  auto* opset_id = f.add_opset_import();
  opset_id->set_domain("");
  opset_id->set_version(opset);
  std::map<int64_t, std::string> in;  // slot -> function input name
  for (int64_t s : slots) {
    in[s] = input_name(op, s, slots.size());
    f.add_input(in[s]);
  }
  std::set<std::string> attr_names{kActivation, kActivationAlpha, kActivationBeta, kInputSlotsAttr};
  for (const auto& [a, type] : attr_types) attr_names.insert(a);
  for (const auto& a : attr_names) f.add_attribute(a);

  Body b(f, opset);
  const OpInfo& info = op_info(op);
  std::string y;
  if (info.category == OpCategory::Fused) {
    const char* base = op_name(info.fused_base);
    const onnx::OpSchema* schema = b.schema(base);
    if (!schema) throw Error(std::string("no ONNX schema for ") + base);
    int arity = info.fused_base_arity;
    std::vector<std::string> base_ins(arity);
    for (int i = 0; i < arity; ++i)
      if (in.count(i)) base_ins[i] = in[i];
    while (!base_ins.empty() && base_ins.back().empty()) base_ins.pop_back();
    std::vector<AP> base_attrs;
    for (const auto& [a, type] : attr_types)
      if (schema->attributes().count(a)) base_attrs.push_back(ref_attr(a, a, type));
    y = b.node(base, base_ins, base_attrs);
    if (in.count(arity)) y = b.node("Add", {y, in[arity]});
    y = emit_activation(b, act, y, in.count(arity + 1) ? in[arity + 1] : "");
  } else if (op == OpKind::Gate) {
    std::string u, g;
    if (slots.size() == 2) {
      u = in[0];
      g = in[1];
    } else {
      auto it = attr_types.find("axis");
      auto halves = b.nodes("Split", {in[0]}, 2, {ref_attr("axis", "axis", it != attr_types.end() ? it->second : AP::INT)});
      u = halves[0];
      g = halves[1];
    }
    y = b.node("Mul", {u, emit_activation(b, act, g, "")});
  } else {
    y = emit_activation(b, act, in[0], "");
  }
  b.finish(y, "y");
  return f;
}

}  // namespace

void NncFunctionWriter::write_call(const Node& n, onnx::NodeProto& np) {
  auto fail = [&](const std::string& why) -> void {
    throw Error(n.label() + ": cannot be exported as an ONNX function: " + why);
  };
  const OpInfo& info = op_info(n.op);
  if (n.op == OpKind::Unsupported || std::string(info.domain) != kNncDomain) fail("not an nnc op");
  if (n.outputs.size() != 1 || !n.outputs[0]) fail("it must have exactly one output");

  std::vector<int64_t> slots;  // the IR slots of the inputs present
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (n.inputs[i]) slots.push_back(static_cast<int64_t>(i));
  bool contiguous = slots.empty() || slots.back() + 1 == static_cast<int64_t>(slots.size());

  std::string act = n.attrs.get_string(kActivation, "");
  std::string name = info.onnx_name;
  if (info.category == OpCategory::Fused) {
    if (slots.empty() || slots.back() > info.fused_base_arity + 1) fail("unexpected inputs");
    // One function per set of input slots: "_Add" marks the residual input; the slot list
    // is spelled out when some base input is omitted.
    const int64_t arity = info.fused_base_arity;
    bool residual = n.input(arity) != nullptr, slope = n.input(arity + 1) != nullptr;
    std::vector<int64_t> usual(arity);
    std::iota(usual.begin(), usual.end(), 0);
    if (residual) usual.push_back(arity), name += "_Add";
    if (slope) usual.push_back(arity + 1);
    if (!act.empty()) name += "_" + act;
    if (slots != usual) {
      name += "_s";
      for (int64_t s : slots) name += std::to_string(s);
    }
  } else if (n.op == OpKind::Gate) {
    if (slots != std::vector<int64_t>{0} && slots != std::vector<int64_t>{0, 1}) fail("expected inputs (u, g) or (x)");
    if (!act.empty()) name += "_" + act;
    if (slots.size() == 1) name += "_split";
  } else if (info.category == OpCategory::Activation) {
    if (slots != std::vector<int64_t>{0}) fail("expected one input");
    act = info.onnx_name;
  } else {
    fail("no function form for this op");
  }

  // The call's attributes: the node's own, the activation's float parameters as floats,
  // Clip's bounds always present (their Constants need a value), and the slots.
  std::map<std::string, AP> attrs;
  for (const auto& [k, v] : n.attrs.all()) {
    if (k == kInputSlotsAttr) continue;
    if (k == kActivationAlpha || k == kActivationBeta) attrs[k] = attribute_to_proto(k, n.attrs.get_float(k, 0));
    else attrs[k] = attribute_to_proto(k, v);
  }
  if (act == "Clip") {
    float inf = std::numeric_limits<float>::infinity();
    if (!attrs.count(kActivationAlpha)) attrs[kActivationAlpha] = attribute_to_proto(kActivationAlpha, -inf);
    if (!attrs.count(kActivationBeta)) attrs[kActivationBeta] = attribute_to_proto(kActivationBeta, inf);
  }
  if (!contiguous) attrs[kInputSlotsAttr] = attribute_to_proto(kInputSlotsAttr, slots);

  auto [it, fresh] = functions_.try_emplace(name);
  Signature& sig = it->second;
  if (fresh) {
    sig.op = n.op;
    sig.activation = act;
    sig.slots = slots;
    try {  // check now, naming the node, that the body can be written
      build_function(opset_, name, sig.op, sig.activation, sig.slots, {});
    } catch (const Error& e) {
      functions_.erase(it);
      fail(e.what());
    }
  }
  for (const auto& [k, a] : attrs) {
    auto [t, added] = sig.attrs.emplace(k, static_cast<int>(a.type()));
    if (!added && t->second != static_cast<int>(a.type()))
      fail("attribute '" + k + "' has another type than on other " + name + " calls");
  }

  np.set_op_type(name);
  np.set_domain(kNncDomain);
  for (int64_t s : slots) np.add_input(n.inputs[s]->name);
  for (auto& [k, a] : attrs) *np.add_attribute() = std::move(a);
}

void NncFunctionWriter::append_functions(onnx::ModelProto& m) const {
  for (const auto& [name, sig] : functions_)  // std::map: sorted by name
    *m.add_functions() = build_function(opset_, name, sig.op, sig.activation, sig.slots, sig.attrs);
}

std::optional<OpKind> nnc_op_of_call(std::string_view op_type) {
  if (auto k = find_op(kNncDomain, op_type)) return k;
  auto pos = op_type.find('_');
  if (pos == std::string_view::npos || pos == 0) return std::nullopt;
  return find_op(kNncDomain, op_type.substr(0, pos));
}

std::vector<Value*> nnc_call_inputs(const onnx::NodeProto& np, const std::vector<Value*>& ins) {
  const AP* slots = nullptr;
  for (const auto& a : np.attribute())
    if (a.name() == kInputSlotsAttr) slots = &a;
  if (!slots) return ins;
  std::string label = np.op_type() + " '" + np.name() + "'";
  check(slots->type() == AP::INTS && slots->ints_size() == static_cast<int>(ins.size()),
        label + ": attribute input_slots must list one slot per input");
  constexpr int64_t kMaxSlot = 64;
  std::vector<Value*> placed;
  int64_t prev = -1;
  for (int i = 0; i < slots->ints_size(); ++i) {
    int64_t s = slots->ints(i);
    check(s > prev && s < kMaxSlot, label + ": input_slots must be increasing slots below " + std::to_string(kMaxSlot));
    placed.resize(static_cast<size_t>(s) + 1, nullptr);
    placed[static_cast<size_t>(s)] = ins[i];
    prev = s;
  }
  return placed;
}

}  // namespace nnc
