// The FP32 peak of one core, for the bench's kernel table: 12 independent chains of fused
// multiply-adds (enough to cover the FMA latency on two FMA units) on 512-bit vectors, as
// many as the compiler emits for -march=native (AVX-512 here, two AVX2 halves elsewhere).
// Prints the best of 5 timed runs in GFLOP/s.
#include <chrono>
#include <cstdio>

typedef float v16 __attribute__((vector_size(64)));

int main() {
  constexpr int kChains = 12;
  constexpr long kIters = 20000000;
  v16 acc[kChains], mul, add;
  for (int i = 0; i < 16; ++i) mul[i] = 0.999999f, add[i] = 1e-7f;
  for (int c = 0; c < kChains; ++c)
    for (int i = 0; i < 16; ++i) acc[c][i] = static_cast<float>(c + i);
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    auto start = std::chrono::steady_clock::now();
    for (long it = 0; it < kIters; ++it) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * mul + add;
      asm volatile("" : "+x"(mul), "+x"(add));  // keeps the loop from being folded away
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double gflops = 2.0 * 16 * kChains * kIters / s / 1e9;
    if (gflops > best) best = gflops;
  }
  float sum = 0;
  for (int c = 0; c < kChains; ++c)
    for (int i = 0; i < 16; ++i) sum += acc[c][i];
  std::printf("%.1f\n", best);
  return sum == 12345.0f;  // uses the results
}
