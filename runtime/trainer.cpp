// The training loop of runtime/trainer.h.
#include "runtime/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "ir/error.h"
#include "passes/pattern.h"

namespace nnc {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Row r of a [B, K] prediction: its arg-max, and −log softmax at `label`.
struct RowScore {
  int64_t argmax;
  double nll;
};
RowScore score_row(const float* z, int64_t k, int64_t label) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j)
    if (z[j] > z[best]) best = j;
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j]) - z[best]);
  return {best, std::log(sum) + z[best] - z[label]};
}

double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

}  // namespace

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::Constant;
  if (name == "step") return ScheduleKind::Step;
  if (name == "cosine") return ScheduleKind::Cosine;
  throw Error("unknown learning-rate schedule '" + name + "' (expected constant, step or cosine)");
}

double LearningRate::at(double progress, int64_t epochs) const {
  switch (schedule) {
    case ScheduleKind::Constant: return base;
    case ScheduleKind::Step: return base * std::pow(gamma, std::floor(progress / static_cast<double>(std::max<int64_t>(step_epochs, 1))));
    case ScheduleKind::Cosine: return base * 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress / static_cast<double>(std::max<int64_t>(epochs, 1)))));
  }
  return base;
}

Trainer::Trainer(const Graph& model, TrainerOptions opts)
    : model_(clone_graph(model)), opts_(std::move(opts)), rng_(opts_.seed) {
  if (opts_.batch < 1) throw Error("training: the batch size must be at least 1");
  tg_ = build_training_graph(*model_, opts_.training, opts_.batch);
  for (const StepSlot& p : tg_.params) values_[p.input] = *constant_of(model_->find_value(p.input));
  std::vector<std::string> stats = running_statistics(*model_);
  for (const StepSlot& s : tg_.state) {
    const Value* in = tg_.graph->find_value(s.input);
    values_[s.input] = std::count(stats.begin(), stats.end(), s.input) ? *constant_of(model_->find_value(s.input))
                                                                        : Tensor(in->dtype, in->static_shape());
  }
  input_shape_ = tg_.graph->find_value(tg_.data)->static_shape();
  pred_shape_ = tg_.graph->find_value(tg_.prediction)->static_shape();
  train_ = std::make_unique<Session>(std::shared_ptr<const Graph>(std::move(tg_.graph)), opts_.session);
  for (const StepSlot& p : tg_.params) eval_inputs_.push_back(p.input);
  eval_inputs_.insert(eval_inputs_.end(), stats.begin(), stats.end());
  eval_ = std::make_unique<Session>(std::shared_ptr<const Graph>(build_eval_graph(*model_, eval_inputs_)), opts_.session);
}

const Tensor& Trainer::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("training: no parameter or statistic named '" + name + "'");
  return it->second;
}

Tensor Trainer::batch_input(const Tensor& x) const {
  Shape s = input_shape_;
  s[0] = x.dim(0);
  int64_t per_sample = 1;
  for (size_t i = 1; i < s.size(); ++i) per_sample *= s[i];
  if (x.numel() != per_sample * s[0])
    throw Error("training: a sample of the data has " + std::to_string(x.numel() / std::max<int64_t>(s[0], 1)) +
                " values; the model's input " + shape_str(input_shape_) + " takes " + std::to_string(per_sample));
  return x.reshaped(s);
}

// Cross-entropy: one-hot labels. MSE/BCE: the labels as numbers when the prediction has one
// value per sample, one-hot labels for BCE on [B, K], else the input itself (reconstruction).
Tensor Trainer::target_for(const Dataset& batch, const Tensor& input, const Shape& pred_shape) const {
  int64_t B = pred_shape[0], per_sample = 1;
  for (size_t i = 1; i < pred_shape.size(); ++i) per_sample *= pred_shape[i];
  LossKind loss = opts_.training.loss;
  bool one_hot = batch.labelled() && (loss == LossKind::SoftmaxCrossEntropy || (loss == LossKind::BinaryCrossEntropy && per_sample > 1));
  if (loss == LossKind::SoftmaxCrossEntropy && !batch.labelled())
    throw Error("training: cross-entropy needs labelled data (use --loss mse for reconstruction)");
  Tensor t(DType::Float32, pred_shape);
  float* out = t.data<float>();
  if (one_hot) {
    const int64_t* y = batch.y.data<int64_t>();
    for (int64_t i = 0; i < B; ++i) {
      if (y[i] >= per_sample) throw Error("training: label " + std::to_string(y[i]) + " but the model predicts " + std::to_string(per_sample) + " classes");
      out[i * per_sample + y[i]] = 1;
    }
  } else if (batch.labelled() && per_sample == 1) {
    for (int64_t i = 0; i < B; ++i) out[i] = static_cast<float>(batch.y.data<int64_t>()[i]);
  } else {
    if (input.numel() != t.numel())
      throw Error("training: reconstruction needs a prediction shaped like the input (" + shape_str(pred_shape) + " vs " + shape_str(input.shape()) + ")");
    std::copy(input.data<float>(), input.data<float>() + input.numel(), out);
  }
  return t;
}

double Trainer::accuracy_count(const Tensor& pred, const Dataset& batch) const {
  if (!batch.labelled()) return kNaN;
  int64_t B = pred.dim(0), k = pred.numel() / std::max<int64_t>(B, 1);
  const float* z = pred.data<float>();
  const int64_t* y = batch.y.data<int64_t>();
  double correct = 0;
  for (int64_t i = 0; i < B; ++i) {
    if (opts_.training.loss == LossKind::SoftmaxCrossEntropy) correct += score_row(z + i * k, k, 0).argmax == y[i];
    else if (opts_.training.loss == LossKind::BinaryCrossEntropy && k == 1) correct += (z[i] > 0) == (y[i] != 0);
    else return kNaN;
  }
  return correct;
}

EpochResult Trainer::train_epoch(const Dataset& data, int64_t epoch, const TrainProgress& progress) {
  const int64_t B = opts_.batch, steps = data.size() / B;
  if (steps == 0) throw Error("training: " + std::to_string(data.size()) + " samples make no batch of " + std::to_string(B));
  std::vector<int64_t> order = shuffled_indices(data.size(), opts_.seed * 1000003 + static_cast<uint64_t>(epoch));
  const Graph& g = train_->graph();
  std::map<std::string, size_t> out_index;
  for (size_t i = 0; i < g.outputs.size(); ++i) out_index[g.outputs[i]->name] = i;
  EpochResult r;
  double loss_sum = 0, correct = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) {
    TensorMap feeds = values_;
    Dataset batch = gather_batch(data, order, s * B, (s + 1) * B);
    Tensor x = batch_input(batch.x);
    feeds[tg_.target] = target_for(batch, x, pred_shape_);
    feeds[tg_.data] = std::move(x);
    double lr = opts_.learning_rate.at(static_cast<double>(epoch) + static_cast<double>(s) / static_cast<double>(steps), opts_.epochs);
    Tensor rate(g.find_value(tg_.lr)->dtype, {}), count(rate.dtype(), {});
    rate.set_double(0, lr);
    count.set_double(0, static_cast<double>(++step_));
    feeds[tg_.lr] = std::move(rate);
    feeds[tg_.step] = std::move(count);
    for (const TrainingGraph::Mask& m : tg_.dropout_masks) {
      Tensor mask(DType::Float32, g.find_value(m.input)->static_shape());
      float keep = static_cast<float>(1 / (1 - m.ratio));
      for (int64_t i = 0; i < mask.numel(); ++i) mask.data<float>()[i] = static_cast<double>(rng_() >> 11) * 0x1.0p-53 >= m.ratio ? keep : 0.0f;
      feeds[m.input] = std::move(mask);
    }
    std::vector<Tensor> outs = train_->run_tensors(feeds);
    for (const StepSlot& p : tg_.params) values_[p.input] = std::move(outs[out_index.at(p.output)]);
    for (const StepSlot& st : tg_.state) values_[st.input] = std::move(outs[out_index.at(st.output)]);
    double loss = outs[out_index.at(tg_.loss)].at_double(0);
    if (!std::isfinite(loss)) throw Error("training: the loss became " + std::to_string(loss) + " at step " + std::to_string(step_) + " (lower the learning rate?)", ErrorKind::Runtime);
    loss_sum += loss * static_cast<double>(B);
    correct += accuracy_count(outs[out_index.at(tg_.prediction)], batch);
    r.samples += B;
    if (progress) progress(r.samples, steps * B, loss_sum / static_cast<double>(r.samples), correct / static_cast<double>(r.samples));
  }
  r.seconds = seconds_since(t0);
  r.loss = loss_sum / static_cast<double>(r.samples);
  r.accuracy = correct / static_cast<double>(r.samples);
  r.samples_per_second = static_cast<double>(r.samples) / std::max(r.seconds, 1e-9);
  return r;
}

Evaluation Trainer::evaluate(const Dataset& data, int64_t batch) const {
  Evaluation ev;
  std::vector<int64_t> order(static_cast<size_t>(data.size()));
  for (int64_t i = 0; i < data.size(); ++i) order[static_cast<size_t>(i)] = i;
  TensorMap feeds;
  for (const std::string& name : eval_inputs_) feeds[name] = values_.at(name);
  const std::string& input = eval_->graph().inputs[0]->name;
  double loss_sum = 0, correct = 0;
  for (int64_t begin = 0; begin < data.size(); begin += batch) {
    int64_t end = std::min(begin + batch, data.size());
    Dataset part = gather_batch(data, order, begin, end);
    feeds[input] = batch_input(part.x);
    Tensor pred = eval_->run_tensors(feeds)[0];
    Shape ps = pred_shape_;
    ps[0] = end - begin;
    Tensor target = target_for(part, feeds[input], ps);
    const float *z = pred.data<float>(), *t = target.data<float>();
    int64_t k = pred.numel() / (end - begin);
    for (int64_t i = 0; i < end - begin; ++i) {
      if (opts_.training.loss == LossKind::SoftmaxCrossEntropy) {
        loss_sum += score_row(z + i * k, k, part.y.data<int64_t>()[i]).nll;
        continue;
      }
      for (int64_t j = i * k; j < (i + 1) * k; ++j)
        loss_sum += (opts_.training.loss == LossKind::MeanSquaredError ? (z[j] - t[j]) * (z[j] - t[j]) : softplus(z[j]) - t[j] * z[j]) / static_cast<double>(k);
    }
    correct += accuracy_count(pred, part);
    ev.samples += end - begin;
  }
  ev.loss = loss_sum / static_cast<double>(std::max<int64_t>(ev.samples, 1));
  ev.accuracy = correct / static_cast<double>(std::max<int64_t>(ev.samples, 1));
  return ev;
}

std::unique_ptr<Graph> Trainer::trained_model() const {
  std::unique_ptr<Graph> g = build_eval_graph(*model_, {});
  for (const std::string& name : eval_inputs_) g->find_value(name)->initializer = std::make_shared<const Tensor>(values_.at(name));
  return g;
}

}  // namespace nnc
