// The gradient table's parts (passes/gradient_table*.cpp); gradient_of in autodiff.h is the
// one entry point. Each returns nullopt for an op it has no rule for.
#pragma once
#include <optional>
#include <vector>

#include "passes/autodiff.h"

namespace nnc {

std::optional<std::vector<Value*>> activation_gradient(GradientBuilder& b, const Node& n, Value* dy);
std::optional<std::vector<Value*>> movement_gradient(GradientBuilder& b, const Node& n, const std::vector<Value*>& dys);
std::optional<std::vector<Value*>> layer_gradient(GradientBuilder& b, const Node& n, Value* dy);

}  // namespace nnc
