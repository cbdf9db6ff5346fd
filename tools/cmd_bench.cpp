// nnc bench MODEL [--backend B] [--threads N] [--iters N] [--warmup N] [--dim NAME=SIZE] [--json]:
// compiles the model, runs it on seeded random inputs (warm-up runs first), and reports the
// minimum, median and p90 latency (the minimum is the steadiest on a shared machine),
// throughput, compile time and peak memory. With --json the last line of standard output is
// one JSON object with those numbers.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "frontend/onnx.h"
#include "runtime/model_stats.h"
#include "runtime/session.h"
#include "runtime/tensor_io.h"
#include "tools/commands.h"

namespace nnc::cli {

namespace {

struct BenchOpts {
  std::string model;
  std::string backend = "cpu";
  int threads = 0;
  int iters = 20;
  int warmup = 3;
  std::vector<std::string> dims;
  bool json = false;
  int level = 3;
};

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;  // ru_maxrss is in KiB on Linux
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

CommandFn add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOpts>();
  CLI::App* sub = app.add_subcommand("bench", "Measure a model's latency, compile time and memory");
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  sub->add_option("--backend", o->backend, "Backend to run on")->check(CLI::IsMember(kBackends));
  sub->add_option("--threads", o->threads, "Threads for the CPU backend (0 = one per core)")->check(CLI::Range(0, 1024));
  sub->add_option("--iters", o->iters, "Timed runs")->check(CLI::Range(1, 1000000));
  sub->add_option("--warmup", o->warmup, "Untimed runs first")->check(CLI::Range(0, 1000000));
  sub->add_option("--dim", o->dims, "Size of a symbolic dimension, NAME=SIZE (default 1)");
  sub->add_flag("--json", o->json, "End with one JSON line holding the numbers");
  add_level_option(*sub, o->level);
  return [o]() {
    auto start = std::chrono::steady_clock::now();
    std::shared_ptr<const Graph> g = load_model(o->model, o->level);
    double load_ms = ms_since(start);
    std::map<std::string, int64_t> dim_values = parse_dim_values(o->dims);
    ValueMap feeds;
    std::map<std::string, Shape> shapes;
    for (size_t i = 0; i < g->inputs.size(); ++i) {
      const Value* v = g->inputs[i];
      if (!v->is_plain_tensor()) throw Error("input '" + v->name + "' is a " + v->type_str() + "; bench feeds tensors only", ErrorKind::Runtime);
      Tensor t = random_input(*v, i, dim_values);
      shapes[v->name] = t.shape();
      feeds[v->name] = std::move(t);
    }
    start = std::chrono::steady_clock::now();
    SessionOptions so;
    so.backend = o->backend;
    so.threads = o->threads;
    so.progress = [&](size_t done, size_t total) {
      if (!o->json && total >= 50 && (done % 25 == 0 || done == total))
        std::cerr << "\rcompiling: " << done << "/" << total << " nodes" << (done == total ? "\n" : "") << std::flush;
    };
    Session session(g, so);
    session.prepare(shapes);
    double compile_ms = ms_since(start);
    for (int i = 0; i < o->warmup; ++i) session.run(feeds);
    std::vector<double> times;
    for (int i = 0; i < o->iters; ++i) {
      auto t = std::chrono::steady_clock::now();
      session.run(feeds);
      times.push_back(ms_since(t));
    }
    double best = percentile(times, 0.0), median = percentile(times, 0.5), p90 = percentile(times, 0.9);
    double gflops = compute_stats(*g).flops / 1e9;  // symbolic dims as 1, like the default inputs
    auto program = session.program();
    int64_t arena = program ? program->arena_bytes : 0;
    size_t fallbacks = program ? program->fallback_nodes().size() : 0;
    std::cout << o->model << " on the " << o->backend << " backend"
              << (o->threads ? ", " + std::to_string(o->threads) + " threads" : std::string()) << "\n";
    if (program) std::cout << "  " << describe_compilation(session) << "\n";
    char line[512];
    std::snprintf(line, sizeof line,
                  "  load %.1f ms, compile %.1f ms\n  latency: min %.3f ms, median %.3f ms, p90 %.3f ms over %d runs (%d warm-up)\n"
                  "  throughput: %.1f runs/s, %.1f GFLOP/s (%.2f GFLOP per run)\n  peak RSS %.1f MB, arena %.1f MB\n",
                  load_ms, compile_ms, best, median, p90, o->iters, o->warmup, 1000.0 / median, gflops / (median / 1000),
                  gflops, peak_rss_bytes() / 1e6, arena / 1e6);
    std::cout << line;
    if (o->json) {
      std::snprintf(line, sizeof line,
                    "{\"backend\": \"%s\", \"threads\": %d, \"iters\": %d, \"min_ms\": %.4f, \"median_ms\": %.4f, \"p90_ms\": %.4f, "
                    "\"throughput_per_s\": %.3f, \"gflop_per_s\": %.2f, \"load_ms\": %.2f, \"compile_ms\": %.2f, \"peak_rss_bytes\": %lld, "
                    "\"arena_bytes\": %lld, \"fallback_nodes\": %zu}",
                    o->backend.c_str(), o->threads, o->iters, best, median, p90, 1000.0 / median, gflops / (median / 1000),
                    load_ms, compile_ms,
                    static_cast<long long>(peak_rss_bytes()), static_cast<long long>(arena), fallbacks);
      std::cout << line << "\n";
    }
    return kOk;
  };
}

}  // namespace nnc::cli
