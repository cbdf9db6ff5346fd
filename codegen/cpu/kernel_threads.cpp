#include "codegen/cpu/kernel_threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace nnc::cpu {

namespace {

// How long a worker spins without work before it sleeps: longer than the gap between two
// kernels of a model (the executor's own steps), short enough to free the core soon after.
constexpr auto kSpin = std::chrono::microseconds(1000);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Set on the pool's workers, and on a caller while it runs its loop's tasks.
thread_local bool in_task = false;

int run_serially(void* uc, KernelTask f, int min, int size, uint8_t* closure) {
  for (int i = 0; i < size; ++i)
    if (int r = f(uc, min + i, closure)) return r;
  return 0;
}

class Pool {
 public:
  void resize(int workers);
  int run(void* uc, KernelTask f, int min, int size, uint8_t* closure, KernelParFor fallback);

 private:
  // Claims and runs the current loop's iterations until none are left.
  void work();
  void worker(uint64_t seen);
  void lock() {
    for (bool expected = false; !busy_.compare_exchange_weak(expected, true, std::memory_order_acquire); expected = false)
      cpu_relax();
  }

  std::atomic<bool> busy_{false};  // a caller owns the pool (runs a loop, or resizes it)
  // The loop's generation: even once a loop is published, odd while its fields are written.
  // Workers register in active_ before they read the fields and re-check the generation, and
  // a caller waits for active_ to drop to 0 before it writes them again.
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> active_{0};
  std::atomic<int> next_{0}, done_{0}, result_{0};
  void* uc_ = nullptr;
  KernelTask f_ = nullptr;
  int min_ = 0, size_ = 0;
  uint8_t* closure_ = nullptr;

  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
};

void Pool::work() {
  for (int i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < size_;) {
    if (int r = f_(uc_, min_ + i, closure_)) {
      int none = 0;
      result_.compare_exchange_strong(none, r);
    }
    done_.fetch_add(1, std::memory_order_acq_rel);
  }
}

void Pool::worker(uint64_t seen) {
  in_task = true;  // a loop started from one of this thread's tasks runs serially
  auto idle_since = std::chrono::steady_clock::now();
  for (unsigned spins = 0; !stop_.load(std::memory_order_acquire);) {
    uint64_t g = gen_.load(std::memory_order_acquire);
    if (g != seen && g % 2 == 0) {
      active_.fetch_add(1);
      if (gen_.load() == g) work();
      active_.fetch_sub(1);
      seen = g, spins = 0;
      idle_since = std::chrono::steady_clock::now();
      continue;
    }
    cpu_relax();
    if (++spins % 1024 != 0 || std::chrono::steady_clock::now() - idle_since < kSpin) continue;
    std::unique_lock<std::mutex> lk(mu_);
    sleepers_.fetch_add(1);
    wake_.wait(lk, [&] { return stop_.load() || gen_.load() != seen; });
    sleepers_.fetch_sub(1);
    idle_since = std::chrono::steady_clock::now();
  }
}

void Pool::resize(int workers) {
  lock();
  if (static_cast<size_t>(workers) != workers_.size()) {
    stop_.store(true);
    {
      std::lock_guard<std::mutex> lk(mu_);
      wake_.notify_all();
    }
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stop_.store(false);
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this, g = gen_.load()] { worker(g); });
  }
  busy_.store(false, std::memory_order_release);
}

int Pool::run(void* uc, KernelTask f, int min, int size, uint8_t* closure, KernelParFor fallback) {
  if (size <= 0) return 0;
  if (in_task) return run_serially(uc, f, min, size, closure);
  bool expected = false;
  if (!busy_.compare_exchange_strong(expected, true, std::memory_order_acquire))
    return fallback(uc, f, min, size, closure);  // another thread's loop holds the pool
  in_task = true;
  int r = 0;
  if (workers_.empty() || size == 1) {
    r = run_serially(uc, f, min, size, closure);
  } else {
    uint64_t g = gen_.load(std::memory_order_relaxed);
    gen_.store(g + 1);
    while (active_.load() != 0) cpu_relax();  // stragglers of the last loop
    uc_ = uc, f_ = f, min_ = min, size_ = size, closure_ = closure;
    next_.store(0, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    result_.store(0, std::memory_order_relaxed);
    gen_.store(g + 2);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lk(mu_);
      wake_.notify_all();
    }
    work();
    while (done_.load(std::memory_order_acquire) < size) cpu_relax();
    r = result_.load();
  }
  in_task = false;
  busy_.store(false, std::memory_order_release);
  return r;
}

// One thread per core, or $HL_NUM_THREADS as for Halide's own pool.
int default_threads() {
  if (const char* e = std::getenv("HL_NUM_THREADS"); e && std::atoi(e) > 0) return std::atoi(e);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The pool, made with `workers` on first use. Never destroyed: kernels may run until the
// process exits, and its threads end with it.
Pool& pool(int workers) {
  static Pool* p = [workers] {
    auto* made = new Pool;
    made->resize(workers);
    return made;
  }();
  return *p;
}

}  // namespace

void set_kernel_threads(int n) {
  const int workers = (n > 0 ? n : default_threads()) - 1;
  pool(workers).resize(workers);
}

int kernel_par_for(void* user_context, KernelTask f, int min, int size, uint8_t* closure, KernelParFor fallback) {
  static Pool& p = pool(default_threads() - 1);  // sized by set_kernel_threads when that came first
  return p.run(user_context, f, min, size, closure, fallback);
}

}  // namespace nnc::cpu
