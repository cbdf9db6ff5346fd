// Compiled kernels, cached in memory and on disk.
//
// A kernel is a Halide pipeline compiled ahead of time to an object file (for the host
// target, without Halide's runtime), linked into a shared library and loaded with dlopen.
// Its file name is a hash of everything that determines the code (the group's ops,
// attributes, shapes, baked constants, the target, the nnc and Halide versions), so
// compiling the same model twice — in this process or a later one — loads instead of
// compiling. One shared Halide runtime (allocator, error handler) is loaded first, globally;
// the kernels' parallel loops run on kernel_threads.h's pool.
// Files are written under a temporary name and renamed, so concurrent processes are safe.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace Halide {
struct Target;
}

namespace nnc::cpu {

// The target the kernels are compiled for: this host, as Halide detects it less the features
// the CPU lacks, without Halide's runtime (one shared runtime is loaded separately).
Halide::Target kernel_target();

using KernelFn = int (*)(void** args);  // Halide's argv entry point: inputs..., outputs...

class KernelCache {
 public:
  // The process-wide cache in default_dir().
  static KernelCache& instance();
  explicit KernelCache(std::string dir);

  // $NNC_CACHE_DIR, else $XDG_CACHE_HOME/nnc, else ~/.cache/nnc, else /tmp/nnc-cache.
  static std::string default_dir();
  const std::string& dir() const { return dir_; }

  // The kernel for `key`: from memory, or from disk, or made by compile(object_path,
  // function_name), which must write an object file defining function_name's argv entry.
  // `compiled` (when given) is set to whether compile() ran.
  KernelFn get(const std::string& key, const std::function<void(const std::string&, const std::string&)>& compile,
               bool* compiled = nullptr);

  // Sets the kernels' thread count (0 = one per core): kernel_threads' pool and Halide's own
  // (which runs the loops that start while the pool is busy); process-wide.
  void set_num_threads(int n);

  struct Stats { int64_t memory_hits = 0, disk_hits = 0, compiled = 0; };
  Stats stats() const;

 private:
  void load_runtime();  // under mu_
  std::string dir_;
  mutable std::mutex mu_;
  void* runtime_ = nullptr;
  std::map<std::string, KernelFn> loaded_;
  Stats stats_;
};

// The Halide runtime's last error message on this thread (a failed kernel's reason).
std::string last_kernel_error();

// 64-bit FNV-1a, as 16 hex digits: stable across builds and platforms (std::hash is not).
std::string stable_hash(const std::string& s);

}  // namespace nnc::cpu
