// The pool that runs the compiled kernels' parallel loops (codegen/cpu/kernel_threads.h):
// every iteration exactly once, errors returned, nested and concurrent loops.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "codegen/cpu/kernel_threads.h"

using namespace nnc::cpu;

namespace {

struct Counts {
  std::vector<std::atomic<int>> runs;
  std::mutex mu;
  std::set<std::thread::id> threads;
  int fail_at = -1;
  std::chrono::microseconds work{0};
  explicit Counts(int n) : runs(n) {}
};

int count_task(void*, int index, uint8_t* closure) {
  auto* c = reinterpret_cast<Counts*>(closure);
  c->runs[index].fetch_add(1);
  if (c->work.count()) std::this_thread::sleep_for(c->work);
  {
    std::lock_guard<std::mutex> lk(c->mu);
    c->threads.insert(std::this_thread::get_id());
  }
  return index == c->fail_at ? 7 : 0;
}

std::atomic<int> fallback_calls{0};
int serial_fallback(void* uc, KernelTask f, int min, int size, uint8_t* closure) {
  fallback_calls.fetch_add(1);
  int result = 0;
  for (int i = min; i < min + size; ++i)
    if (int r = f(uc, i, closure); r && !result) result = r;
  return result;
}

bool each_ran_once(const Counts& c, int min, int size) {
  for (int i = 0; i < static_cast<int>(c.runs.size()); ++i)
    if (c.runs[i].load() != (i >= min && i < min + size ? 1 : 0)) return false;
  return true;
}

}  // namespace

TEST_CASE("kernel threads: every iteration of a loop runs exactly once, spread over the threads", "[cpu]") {
  for (int threads : {1, 2, 4}) {
    set_kernel_threads(threads);
    for (int size : {1, 3, 64, 1000}) {
      Counts c(size + 5);
      fallback_calls = 0;
      CHECK(kernel_par_for(nullptr, count_task, 5, size, reinterpret_cast<uint8_t*>(&c), serial_fallback) == 0);
      CHECK(each_ran_once(c, 5, size));
      CHECK(fallback_calls == 0);
    }
    // Iterations that take a while are shared: with workers, more than one thread runs them.
    Counts slow(32);
    slow.work = std::chrono::microseconds(300);
    CHECK(kernel_par_for(nullptr, count_task, 0, 32, reinterpret_cast<uint8_t*>(&slow), serial_fallback) == 0);
    CHECK(each_ran_once(slow, 0, 32));
    if (threads == 1) CHECK(slow.threads.size() == 1);
    else CHECK(slow.threads.size() > 1);
  }
  set_kernel_threads(0);
}

TEST_CASE("kernel threads: a failing iteration's result is the loop's result", "[cpu]") {
  set_kernel_threads(2);
  Counts c(100);
  c.fail_at = 41;
  CHECK(kernel_par_for(nullptr, count_task, 0, 100, reinterpret_cast<uint8_t*>(&c), serial_fallback) == 7);
  Counts ok(100);
  CHECK(kernel_par_for(nullptr, count_task, 0, 100, reinterpret_cast<uint8_t*>(&ok), serial_fallback) == 0);
  CHECK(each_ran_once(ok, 0, 100));
  set_kernel_threads(0);
}

namespace {
struct Nested {
  std::atomic<int> inner_runs{0};
  std::atomic<int> inner_results{0};
};
int inner_task(void*, int, uint8_t* closure) {
  reinterpret_cast<Nested*>(closure)->inner_runs.fetch_add(1);
  return 0;
}
int outer_task(void*, int, uint8_t* closure) {
  int r = kernel_par_for(nullptr, inner_task, 0, 10, closure, serial_fallback);
  reinterpret_cast<Nested*>(closure)->inner_results.fetch_add(r);
  return 0;
}
}  // namespace

TEST_CASE("kernel threads: loops started inside a task and from several threads at once all complete", "[cpu]") {
  set_kernel_threads(2);
  Nested n;
  CHECK(kernel_par_for(nullptr, outer_task, 0, 20, reinterpret_cast<uint8_t*>(&n), serial_fallback) == 0);
  CHECK(n.inner_runs == 200);
  CHECK(n.inner_results == 0);

  // Four callers at once: the pool takes one loop at a time, the rest go to the fallback.
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) {
        Counts c(16);
        if (kernel_par_for(nullptr, count_task, 0, 16, reinterpret_cast<uint8_t*>(&c), serial_fallback) != 0 ||
            !each_ran_once(c, 0, 16))
          wrong.fetch_add(1);
      }
    });
  for (auto& t : callers) t.join();
  CHECK(wrong == 0);
  set_kernel_threads(0);
}
