// The threads that run the compiled kernels' parallel loops, installed in Halide's runtime
// as its do_par_for (halide_set_custom_do_par_for).
//
// Halide's own pool puts its workers to sleep on a condition variable as soon as they find
// no work, so each kernel's parallel loop begins by waking them, and a worker woken on a
// virtual machine starts tens of microseconds late. A model is a sequence of short parallel
// loops (dozens per run, many under 0.5 ms), so here the workers spin for a while after each
// loop and pick up the next one at once; only after a millisecond without work do they
// sleep. Measured on 2 threads (median of interleaved runs): resnet18 and mobilenet_v2 6%
// faster, resnet50 2%.
//
// One loop runs on the pool at a time; a loop started while the pool is busy (sessions
// running on several threads at once) goes to Halide's default pool instead, and a loop
// started from inside one of the pool's tasks runs serially in that task.
#pragma once
#include <cstdint>

namespace nnc::cpu {

// Halide's halide_task_t: runs iteration `index` of a parallel loop.
using KernelTask = int (*)(void* user_context, int index, uint8_t* closure);
using KernelParFor = int (*)(void* user_context, KernelTask f, int min, int size, uint8_t* closure);

// Sets the number of threads the loops run on, the caller's included (0: one per core).
void set_kernel_threads(int n);

// Runs f(index) for index in [min, min + size) on the pool; the first non-zero result, or 0.
// `fallback` (Halide's default pool) runs the loop when the pool is busy.
int kernel_par_for(void* user_context, KernelTask f, int min, int size, uint8_t* closure, KernelParFor fallback);

}  // namespace nnc::cpu
