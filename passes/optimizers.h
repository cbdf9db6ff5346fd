// The optimizers' update rules, emitted as IR ops into a training graph, with the semantics of
// ONNX's ai.onnx.preview.training ops (Momentum, Adam, Adagrad) so that ONNX's test data
// checks them. SGD is Momentum without state; AdamW is Adam with decoupled weight decay.
//
//   x, g, state, lr, t   -->   x_new, state_new
//
// lr (the learning rate, after any schedule) and t (the update count, 1 for the first update)
// are float32 scalar graph inputs, so a schedule changes no kernel.
#pragma once
#include <string>
#include <vector>

#include "passes/autodiff.h"

namespace nnc {

enum class OptimizerKind { SGD, Momentum, Nesterov, Adam, AdamW, Adagrad };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Adam;
  double norm_coefficient = 0;  // L2 folded into the gradient: g + c·x (ONNX's norm_coefficient)
  double momentum = 0.9;        // Momentum/Nesterov: α (v = α·v + β·g)
  double momentum_beta = 1;     // Momentum/Nesterov: β from the second update on
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // Adam/AdamW (Adagrad uses epsilon too)
  double weight_decay = 0.01;   // AdamW: x -= lr·weight_decay·x after the Adam step
  double norm_coefficient_post = 0;  // Adam: x = (1 − c)·x after the step (ONNX)
  double decay_factor = 0;      // Adagrad: lr / (1 + t·decay_factor)
};

// "sgd", "momentum", "nesterov", "adam", "adamw", "adagrad"; throws listing them otherwise.
OptimizerKind parse_optimizer(const std::string& name);
std::string optimizer_name(OptimizerKind k);
// How many state tensors (each shaped like the parameter) one parameter needs: 0, 1 or 2.
int optimizer_state_count(OptimizerKind k);

struct ParameterUpdate {
  Value* x;
  std::vector<Value*> state;
};

// The ops updating one parameter x with gradient g; `state` has optimizer_state_count values.
ParameterUpdate emit_update(GradientBuilder& b, const OptimizerConfig& c, Value* x, Value* g,
                            const std::vector<Value*>& state, Value* lr, Value* t);

}  // namespace nnc
