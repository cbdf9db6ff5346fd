#include "codegen/cpu/kernel_cache.h"

#include <Halide.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "codegen/cpu/kernel_threads.h"
#include "ir/error.h"
#include "nnc_codegen_hash.h"

extern char** environ;

namespace nnc::cpu {
namespace fs = std::filesystem;

namespace {

// Changes whenever the code generator's sources do, so stale cached kernels are not reused.
constexpr const char* kCodeVersion = "nnc-cpu-" NNC_CODEGEN_HASH;

std::string linker() {
  if (const char* cc = std::getenv("NNC_CC")) return cc;
#ifdef NNC_HOST_CC
  if (fs::exists(NNC_HOST_CC)) return NNC_HOST_CC;
#endif
  return "cc";
}

// Links an object file into a shared library with the system C compiler driver.
void link_shared(const std::string& obj, const std::string& so) {
  std::string cc = linker();
  std::vector<std::string> args = {cc, "-shared", "-o", so, obj};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, cc.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    throw Error("cannot run the linker '" + cc + "' to build a kernel (set NNC_CC to a C compiler)", ErrorKind::Runtime);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("linking kernel " + so + " with '" + cc + "' failed", ErrorKind::Runtime);
}

std::string unique_suffix() {
  return std::to_string(getpid()) + "-" + std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
}

void* open_library(const std::string& path, int flags) {
  void* h = dlopen(path.c_str(), flags);
  if (!h) throw Error("cannot load compiled kernel " + path + ": " + dlerror(), ErrorKind::Runtime);
  return h;
}

// Builds `so` (if missing) by compile(obj) + link, publishing it atomically.
void build_library(const std::string& so, const std::function<void(const std::string&)>& compile) {
  if (fs::exists(so)) return;
  std::string tmp = so + "." + unique_suffix();
  compile(tmp + ".o");
  link_shared(tmp + ".o", tmp + ".so");
  fs::remove(tmp + ".o");
  fs::rename(tmp + ".so", so);
}

thread_local std::string last_halide_error;
void record_halide_error(void*, const char* msg) { last_halide_error = msg ? msg : ""; }

KernelParFor halide_default_par_for = nullptr;
int par_for_on_pool(void* uc, KernelTask f, int min, int size, uint8_t* closure) {
  return kernel_par_for(uc, f, min, size, closure, halide_default_par_for);
}

// This host as Halide detects it, less what the CPU lacks. Halide 14 reports Sapphire Rapids
// for any CPU with AVX512-BF16 and VNNI, and LLVM then emits AVX512-FP16 instructions (vmovw)
// for 16-bit values, which AMD's Zen 4 lacks (SIGILL). Without the feature the target is
// Cannon Lake's. Detected once: the cache key of every kernel lookup includes it.
const Halide::Target& host_target() {
  static const Halide::Target target = [] {
    Halide::Target t = Halide::get_host_target();
#if defined(__x86_64__) || defined(__i386__)
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool fp16 = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx >> 23 & 1);
    if (!fp16) t = t.without_feature(Halide::Target::AVX512_SapphireRapids);
#endif
    return t;
  }();
  return target;
}

}  // namespace

Halide::Target kernel_target() { return host_target().with_feature(Halide::Target::NoRuntime); }

std::string stable_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string KernelCache::default_dir() {
  if (const char* d = std::getenv("NNC_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/nnc";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/nnc";
  return "/tmp/nnc-cache";
}

KernelCache& KernelCache::instance() {
  static KernelCache cache(default_dir());
  return cache;
}

KernelCache::KernelCache(std::string dir) : dir_(std::move(dir)) {}

void KernelCache::load_runtime() {
  if (runtime_) return;
  std::error_code ec;
  fs::create_directories(dir_ + "/kernels", ec);
  if (ec) throw Error("cannot create the kernel cache " + dir_ + ": " + ec.message(), ErrorKind::Runtime);
  Halide::Target t = host_target();
  std::string so = dir_ + "/kernels/runtime-" + stable_hash(std::string(kCodeVersion) + t.to_string()) + ".so";
  build_library(so, [&](const std::string& obj) { Halide::compile_standalone_runtime(obj, t); });
  runtime_ = open_library(so, RTLD_NOW | RTLD_GLOBAL);
  using SetHandler = void (*)(void (*)(void*, const char*));
  if (auto set = reinterpret_cast<SetHandler>(dlsym(runtime_, "halide_set_error_handler"))) set(record_halide_error);
  // The kernels' parallel loops run on kernel_threads' pool, Halide's default pool serving
  // the loops that start while it is busy.
  using SetParFor = KernelParFor (*)(KernelParFor);
  halide_default_par_for = reinterpret_cast<KernelParFor>(dlsym(runtime_, "halide_default_do_par_for"));
  auto set_par_for = reinterpret_cast<SetParFor>(dlsym(runtime_, "halide_set_custom_do_par_for"));
  if (halide_default_par_for && set_par_for) set_par_for(par_for_on_pool);
}

KernelFn KernelCache::get(const std::string& key,
                          const std::function<void(const std::string&, const std::string&)>& compile,
                          bool* compiled) {
  std::string full = std::string(kCodeVersion) + "|" + kernel_target().to_string() + "|" + key;
  std::string hash = stable_hash(full);
  if (compiled) *compiled = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    load_runtime();
    if (auto it = loaded_.find(full); it != loaded_.end()) {
      ++stats_.memory_hits;
      return it->second;
    }
  }
  std::string fn_name = "nnc_k" + hash;
  std::string so = dir_ + "/kernels/" + hash + ".so";
  bool on_disk = fs::exists(so);
  if (!on_disk) {
    build_library(so, [&](const std::string& obj) { compile(obj, fn_name); });
    if (compiled) *compiled = true;
  }
  void* h = open_library(so, RTLD_NOW | RTLD_LOCAL);
  auto fn = reinterpret_cast<KernelFn>(dlsym(h, (fn_name + "_argv").c_str()));
  if (!fn) throw Error("compiled kernel " + so + " lacks " + fn_name, ErrorKind::Runtime);
  std::lock_guard<std::mutex> lock(mu_);
  ++(on_disk ? stats_.disk_hits : stats_.compiled);
  loaded_.emplace(full, fn);
  return fn;
}

void KernelCache::set_num_threads(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  load_runtime();
  using SetThreads = int (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(runtime_, "halide_set_num_threads"))) set(n);
  set_kernel_threads(n);
}

KernelCache::Stats KernelCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string last_kernel_error() { return last_halide_error; }

}  // namespace nnc::cpu
