// Training a model on a Dataset: the training graph (passes/training_graph.h) compiled once by
// a Session, run per batch with the parameters, optimizer state and running statistics fed
// back in; evaluation on a second, inference-mode graph whose weights are inputs too (so neither
// graph recompiles as the weights change).
//
//   nnc::Trainer t(model, opts);
//   for (int e = 0; e < 5; ++e) t.train_epoch(data.train, e);
//   nnc::Evaluation ev = t.evaluate(data.test);
//   nnc::export_onnx_file(*t.trained_model(), "trained.onnx");
#pragma once
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "passes/training_graph.h"
#include "runtime/dataset.h"
#include "runtime/session.h"

namespace nnc {

enum class ScheduleKind { Constant, Step, Cosine };
// "constant", "step", "cosine"; throws listing them otherwise.
ScheduleKind parse_schedule(const std::string& name);

struct LearningRate {
  double base = 1e-3;
  ScheduleKind schedule = ScheduleKind::Constant;
  int64_t step_epochs = 1;  // Step: multiply by gamma every step_epochs epochs
  double gamma = 0.5;
  // The rate at `progress` epochs done (fractional) out of `epochs`: Step decays at whole
  // epochs; Cosine is base·(1 + cos(π·progress/epochs))/2.
  double at(double progress, int64_t epochs) const;
};

struct TrainerOptions {
  TrainingOptions training;
  LearningRate learning_rate;
  int64_t batch = 64;
  int64_t epochs = 5;  // for the cosine schedule
  uint64_t seed = 0;   // shuffling and dropout masks
  SessionOptions session;
};

struct EpochResult {
  double loss = 0, accuracy = 0;  // accuracy NaN when the task has none (reconstruction)
  int64_t samples = 0;
  double seconds = 0, samples_per_second = 0;
};

struct Evaluation {
  double loss = 0, accuracy = 0;
  int64_t samples = 0;
};

// progress(samples done, samples in the epoch, mean loss so far, accuracy so far)
using TrainProgress = std::function<void(int64_t, int64_t, double, double)>;

class Trainer {
 public:
  Trainer(const Graph& model, TrainerOptions opts);

  // One pass over the data in a fresh seeded order; a last partial batch is left out.
  EpochResult train_epoch(const Dataset& data, int64_t epoch, const TrainProgress& progress = {});
  Evaluation evaluate(const Dataset& data, int64_t batch = 500) const;
  // The model with the trained weights and running statistics: plain inference ONNX
  // (Dropout removed, BatchNorm in inference mode with its final statistics).
  std::unique_ptr<Graph> trained_model() const;

  const TrainingGraph& training_graph() const { return tg_; }
  // Current parameters and running statistics by name.
  const Tensor& value(const std::string& name) const;
  const Session& training_session() const { return *train_; }

 private:
  // A batch of samples reshaped to the model's input (e.g. [B, 28, 28] images -> [B, 784]).
  Tensor batch_input(const Tensor& x) const;
  Tensor target_for(const Dataset& batch, const Tensor& input, const Shape& pred_shape) const;
  double accuracy_count(const Tensor& pred, const Dataset& batch) const;

  std::shared_ptr<const Graph> model_;
  TrainerOptions opts_;
  TrainingGraph tg_;
  std::unique_ptr<Session> train_, eval_;
  std::vector<std::string> eval_inputs_;
  TensorMap values_;  // parameters, optimizer state, running statistics (by input name)
  Shape input_shape_, pred_shape_;
  int64_t step_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace nnc
