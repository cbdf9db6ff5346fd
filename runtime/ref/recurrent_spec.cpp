// The recurrent ops' activation attributes, shared by the reference kernels and the CPU
// lowering.
#include "runtime/ref/recurrent_spec.h"

#include <cctype>
#include <variant>

namespace nnc {

namespace {

[[noreturn]] void fail(const std::string& why) { throw Error(why); }
void require(bool cond, const std::string& why) { if (!cond) fail(why); }

struct ActInfo {
  const char* name;
  ActKind kind;
  int num_params;            // how many of (alpha, beta) it takes from the attribute lists
  double default_alpha, default_beta;  // the defaults of the matching ONNX operators
};

constexpr ActInfo kActivations[] = {
    {"relu", ActKind::Relu, 0, 0, 0},
    {"tanh", ActKind::Tanh, 0, 0, 0},
    {"sigmoid", ActKind::Sigmoid, 0, 0, 0},
    {"affine", ActKind::Affine, 2, 1.0, 0.0},
    {"leakyrelu", ActKind::LeakyRelu, 1, 0.01, 0},
    {"thresholdedrelu", ActKind::ThresholdedRelu, 1, 1.0, 0},
    {"scaledtanh", ActKind::ScaledTanh, 2, 1.0, 1.0},
    {"hardsigmoid", ActKind::HardSigmoid, 2, 0.2, 0.5},
    {"elu", ActKind::Elu, 1, 1.0, 0},
    {"softsign", ActKind::Softsign, 0, 0, 0},
    {"softplus", ActKind::Softplus, 0, 0, 0},
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const std::vector<std::string>* string_list_attr(const Attributes& attrs, const std::string& name) {
  auto it = attrs.all().find(name);
  if (it == attrs.all().end()) return nullptr;
  const auto* v = std::get_if<std::vector<std::string>>(&it->second);
  require(v != nullptr, "attribute '" + name + "' must be a list of strings");
  return v;
}

}  // namespace

std::vector<RecurrentActivation> recurrent_activations(const Attributes& attrs,
                                                       const std::vector<std::string>& defaults, int64_t num_dirs) {
  size_t per_dir = defaults.size();
  std::vector<std::string> names;
  if (const auto* given = string_list_attr(attrs, "activations")) names = *given;
  if (names.empty()) names = defaults;
  // ONNX's RNN schema declares the default ["Tanh", "Tanh"] (both directions), which the
  // importer fills in for one-directional nodes too: keep the first direction's share.
  if (num_dirs == 1 && names.size() == 2 * per_dir) names.resize(per_dir);
  if (names.size() == per_dir && num_dirs == 2) {
    const std::vector<std::string> one_direction = names;
    names.insert(names.end(), one_direction.begin(), one_direction.end());
  }
  require(names.size() == per_dir * static_cast<size_t>(num_dirs),
          "expected " + std::to_string(per_dir * num_dirs) + " activations, got " + std::to_string(names.size()));
  std::vector<float> alphas = attrs.get_floats("activation_alpha");
  std::vector<float> betas = attrs.get_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<RecurrentActivation> acts;
  for (const std::string& name : names) {
    const ActInfo* info = nullptr;
    for (const ActInfo& a : kActivations)
      if (lower(name) == a.name) info = &a;
    require(info != nullptr, "unsupported activation '" + name + "'");
    RecurrentActivation act{info->kind, info->default_alpha, info->default_beta};
    if (info->num_params >= 1 && next_alpha < alphas.size()) act.alpha = alphas[next_alpha++];
    if (info->num_params >= 2 && next_beta < betas.size()) act.beta = betas[next_beta++];
    acts.push_back(act);
  }
  return acts;
}

}  // namespace nnc
