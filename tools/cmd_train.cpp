// nnc train MODEL --data DIR -o TRAINED.onnx [options] [--json]: trains a model on a dataset
// (IDX directory, NPY, CSV) with the compiled CPU backend, showing a progress line per epoch,
// then evaluates on the test set, writes the trained model as plain inference ONNX and the
// loss/accuracy curves as an SVG. With --json the last line of standard output is one JSON
// object (test_accuracy, test_loss, epochs, seconds, samples_per_second, ...).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "frontend/initializers.h"
#include "frontend/onnx.h"
#include "frontend/starter_models.h"
#include "ir/error.h"
#include "runtime/trainer.h"
#include "tools/commands.h"
#include "tools/svg_plot.h"

namespace nnc::cli {

namespace {

struct TrainOpts {
  std::string model, data, output, plot, optimizer = "adam", schedule = "cosine", loss = "cross-entropy", init;
  std::string backend = "cpu";
  int64_t epochs = 5, batch = 64, step_epochs = 1, new_head = 0, add_head = 0;
  double lr = 1e-3, gamma = 0.5, momentum = 0.9, weight_decay = 0.01, l1 = 0, l2 = 0, clip_value = 0, clip_norm = 0;
  double dropout = -1, validation = 0;
  std::vector<std::string> freeze;
  uint64_t seed = 0;
  int threads = 0;
  bool json = false, overwrite = false;
};

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string percent(double v) { return std::isnan(v) ? "-" : fixed(100 * v, 2) + "%"; }

// JSON numbers: NaN (no accuracy for reconstruction) becomes null.
std::string json_number(double v) { return std::isfinite(v) ? fixed(v, 6) : "null"; }

// "epoch 2/5 [#########...........] 28160/60000  loss 0.4123  acc 85.21%  41,230 samples/s"
std::string progress_line(int64_t epoch, int64_t epochs, int64_t done, int64_t total, double loss, double acc, double rate) {
  const int width = 24;
  int filled = total > 0 ? static_cast<int>(width * done / total) : width;
  return "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs) + " [" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.') + "] " + std::to_string(done) + "/" + std::to_string(total) +
         "  loss " + fixed(loss, 4) + "  acc " + percent(acc) + "  " + fixed(rate, 0) + " samples/s";
}

}  // namespace

CommandFn add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOpts>();
  CLI::App* sub = app.add_subcommand("train", "Train a model on a dataset and write the trained model");
  sub->add_option("MODEL", o->model, "ONNX model to train (see `nnc new`)")->required();
  sub->add_option("--data", o->data, "Dataset: a directory of IDX files (MNIST names) or of x_train.npy/y_train.npy, a .npy or a .csv file")->required();
  sub->add_option("-o,--output", o->output, "Where to write the trained model (ONNX)")->required();
  sub->add_option("--epochs", o->epochs, "Passes over the training data")->check(CLI::Range(int64_t{1}, int64_t{100000}));
  sub->add_option("--batch", o->batch, "Samples per step")->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  sub->add_option("--optimizer", o->optimizer, "sgd, momentum, nesterov, adam, adamw or adagrad");
  sub->add_option("--lr", o->lr, "Learning rate")->check(CLI::PositiveNumber);
  sub->add_option("--schedule", o->schedule, "Learning-rate schedule: constant, step or cosine");
  sub->add_option("--step-epochs", o->step_epochs, "step schedule: epochs between decays")->check(CLI::Range(int64_t{1}, int64_t{100000}));
  sub->add_option("--gamma", o->gamma, "step schedule: decay factor")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--momentum", o->momentum, "momentum/nesterov: the momentum")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--weight-decay", o->weight_decay, "adamw: the decoupled weight decay")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--loss", o->loss, "cross-entropy (labels), mse or bce; unlabelled data: mse reconstruction");
  sub->add_option("--l1", o->l1, "L1 penalty on weights (adds l1*sign(w) to their gradients)")->check(CLI::NonNegativeNumber);
  sub->add_option("--l2", o->l2, "L2 penalty on weights (adds l2*w to their gradients)")->check(CLI::NonNegativeNumber);
  sub->add_option("--clip-value", o->clip_value, "Clip each gradient element to [-v, v]")->check(CLI::NonNegativeNumber);
  sub->add_option("--clip-norm", o->clip_norm, "Rescale gradients whose global L2 norm exceeds this")->check(CLI::NonNegativeNumber);
  sub->add_option("--dropout", o->dropout, "Dropout ratio for the model's Dropout nodes, or before each hidden Gemm/MatMul when it has none")
      ->check(CLI::Range(0.0, 0.95));
  sub->add_option("--init", o->init, "Re-initialise the weights first: xavier|he|lecun-uniform|normal");
  sub->add_option("--freeze", o->freeze, "Keep parameters matching this name pattern fixed ('*' wildcards; repeatable)");
  sub->add_option("--new-head", o->new_head, "Replace the classifier head by a fresh one with this many classes")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  sub->add_option("--add-head", o->add_head, "Add a head on top of the model's output: ReLU, then a fresh layer with this many classes")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  sub->add_option("--validation", o->validation, "Fraction of the training data held out for validation")->check(CLI::Range(0.0, 0.9));
  sub->add_option("--seed", o->seed, "Seed for shuffling, dropout and initialisation");
  sub->add_option("--backend", o->backend, "Backend to train on")->check(CLI::IsMember(kBackends));
  sub->add_option("--threads", o->threads, "Threads for the CPU backend (0 = one per core)")->check(CLI::Range(0, 1024));
  sub->add_option("--plot", o->plot, "Where to write the loss/accuracy curves (SVG; default: OUTPUT with .svg)");
  sub->add_flag("--overwrite", o->overwrite, "Replace existing output files");
  sub->add_flag("--json", o->json, "End with one JSON line holding the results");
  return [o]() {
    auto t_start = std::chrono::steady_clock::now();
    std::string plot = o->plot.empty() ? std::filesystem::path(o->output).replace_extension(".svg").string() : o->plot;
    for (const std::string& path : {o->output, plot})
      if (!o->overwrite && std::filesystem::exists(path))
        throw Error("'" + path + "' exists; pass --overwrite to replace it", ErrorKind::Runtime);
    std::unique_ptr<Graph> model = import_onnx_file(o->model);
    if (o->new_head > 0) replace_head(*model, o->new_head, o->init.empty() ? InitScheme::HeNormal : parse_init_scheme(o->init), o->seed);
    if (o->add_head > 0) add_head(*model, o->add_head, o->init.empty() ? InitScheme::HeNormal : parse_init_scheme(o->init), o->seed);
    if (!o->init.empty()) initialize_weights(*model, parse_init_scheme(o->init), o->seed);

    DataSplit data = load_dataset(o->data);
    Dataset train = data.train, validation;
    if (o->validation > 0) {
      train = gather_batch(data.train, shuffled_indices(data.train.size(), o->seed + 17), 0, data.train.size());
      std::tie(train, validation) = split_validation(train, o->validation);
    }

    TrainerOptions t;
    t.training.loss = data.train.labelled() || o->loss != "cross-entropy" ? parse_loss(o->loss) : LossKind::MeanSquaredError;
    t.training.optimizer.kind = parse_optimizer(o->optimizer);
    t.training.optimizer.momentum = o->momentum;
    t.training.optimizer.weight_decay = o->weight_decay;
    t.training.l1 = o->l1, t.training.l2 = o->l2;
    t.training.clip_value = o->clip_value, t.training.clip_norm = o->clip_norm;
    t.training.dropout = o->dropout;
    t.training.freeze = o->freeze;
    t.learning_rate = {o->lr, parse_schedule(o->schedule), o->step_epochs, o->gamma};
    t.batch = o->batch, t.epochs = o->epochs, t.seed = o->seed;
    t.session.backend = o->backend;
    t.session.threads = o->threads;
    bool tty = isatty(STDOUT_FILENO);
    std::cout << "training " << o->model << " on " << train.size() << " samples (" << (validation.size() ? std::to_string(validation.size()) + " for validation, " : "")
              << data.test.size() << " test), " << loss_name(t.training.loss) << " loss, " << o->optimizer << " lr " << o->lr << ", batch " << o->batch << "\n";
    std::cout.flush();
    Trainer trainer(*model, t);
    if (!trainer.training_graph().frozen.empty())
      std::cout << "frozen: " << trainer.training_graph().frozen.size() << " parameters (" << trainer.training_graph().frozen.front() << ", ...)\n";

    Series train_loss{"train loss", {}}, val_loss{"validation loss", {}}, train_acc{"train accuracy", {}}, val_acc{"validation accuracy", {}};
    double samples = 0, train_seconds = 0;
    EpochResult last;
    for (int64_t e = 0; e < o->epochs; ++e) {
      auto t0 = std::chrono::steady_clock::now();
      auto progress = [&](int64_t done, int64_t total, double loss, double acc) {
        if (!tty || (done % (o->batch * 20) != 0 && done != total)) return;
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << "\r" << progress_line(e, o->epochs, done, total, loss, acc, static_cast<double>(done) / std::max(s, 1e-9)) << std::flush;
      };
      last = trainer.train_epoch(train, e, progress);
      samples += static_cast<double>(last.samples);
      train_seconds += last.seconds;
      std::string line = progress_line(e, o->epochs, last.samples, last.samples, last.loss, last.accuracy, last.samples_per_second);
      train_loss.values.push_back(last.loss);
      train_acc.values.push_back(last.accuracy);
      if (validation.size() > 0) {
        Evaluation v = trainer.evaluate(validation);
        line += "  | validation loss " + fixed(v.loss, 4) + " acc " + percent(v.accuracy);
        val_loss.values.push_back(v.loss);
        val_acc.values.push_back(v.accuracy);
      }
      std::cout << (tty ? "\r" : "") << line << "\n" << std::flush;
    }
    Evaluation test;
    if (data.test.size() > 0) {
      test = trainer.evaluate(data.test);
      std::cout << "test: loss " << fixed(test.loss, 4) << ", accuracy " << percent(test.accuracy) << " on " << test.samples << " samples\n";
    } else {
      test.loss = test.accuracy = std::nan("");
      std::cout << "test: the dataset has no test set\n";
    }
    export_onnx_file(*trainer.trained_model(), o->output, o->overwrite);
    std::vector<Chart> charts{{"Loss", "epoch", loss_name(t.training.loss), {train_loss}}};
    if (!val_loss.values.empty()) charts[0].series.push_back(val_loss);
    if (!std::isnan(last.accuracy)) {
      charts.push_back({"Accuracy", "epoch", "accuracy", {train_acc}});
      if (!val_acc.values.empty()) charts[1].series.push_back(val_acc);
    }
    write_svg(plot, charts, o->overwrite);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    std::cout << "wrote " << o->output << " (inference ONNX) and " << plot << " (curves); " << fixed(seconds, 1) << " s in all, "
              << fixed(samples / std::max(train_seconds, 1e-9), 0) << " samples/s while training\n";
    if (o->json)
      std::cout << "{\"test_accuracy\": " << json_number(test.accuracy) << ", \"test_loss\": " << json_number(test.loss)
                << ", \"epochs\": " << o->epochs << ", \"seconds\": " << json_number(seconds) << ", \"train_seconds\": " << json_number(train_seconds)
                << ", \"samples_per_second\": " << json_number(samples / std::max(train_seconds, 1e-9))
                << ", \"train_loss\": " << json_number(last.loss) << ", \"train_accuracy\": " << json_number(last.accuracy) << "}\n";
    return kOk;
  };
}

}  // namespace nnc::cli
