// The CPU backend's own approximations of math functions, against double precision (std::exp)
// over the whole float range, special values included.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "frontend/builder.h"
#include "runtime/session.h"

using namespace nnc;

TEST_CASE("cpu backend: float32 Sigmoid, x * Sigmoid(x) and Silu match double precision over the float range", "[cpu]") {
  std::vector<float> xs;
  for (int i = -24000; i <= 24000; ++i) xs.push_back(static_cast<float>(i) * 0.005f);  // -120 .. 120
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-7f, 86.5f, -86.5f, -87.3f, -88.0f, 1e6f, -1e6f})
    xs.push_back(v);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const size_t finite = xs.size();
  for (float v : {inf, -inf, nan}) xs.push_back(v);
  const int64_t n = static_cast<int64_t>(xs.size());

  Builder b("sigmoid", 17);
  Value* x = b.input("x", DType::Float32, {Dim::fixed(n)});
  b.output(b.op(OpKind::Sigmoid, {x}), "sigmoid");
  b.output(b.op(OpKind::Mul, {x, b.op(OpKind::Sigmoid, {x})}), "x_sigmoid");
  b.output(b.op(OpKind::Silu, {x}), "silu");
  Tensor in(DType::Float32, {n});
  std::copy(xs.begin(), xs.end(), in.data<float>());
  Session cpu(b.finish());
  std::vector<Tensor> got = cpu.run_tensors({{"x", in}});
  REQUIRE(cpu.program());
  CHECK(cpu.program()->fallback_nodes().empty());
  REQUIRE(got.size() == 3);

  // Relative error within 5e-6 down to x = -87 (where the sigmoid is 1.6e-38, still a normal
  // float); below that, absolute error within 1.2e-38, the least normal float.
  const float* sig = got[0].data<float>();
  double worst = 0;
  int64_t outside = 0;
  for (size_t i = 0; i < finite; ++i) {
    const double v = xs[i], want = 1 / (1 + std::exp(-v));
    if (v >= -87) worst = std::max(worst, std::fabs(sig[i] - want) / want);
    else outside += !(sig[i] >= 0 && std::fabs(sig[i] - want) <= 1.2e-38);
  }
  CHECK(worst < 5e-6);
  CHECK(outside == 0);
  CHECK(sig[finite] == 1.0f);          // +inf
  CHECK(sig[finite + 1] <= 1.2e-38f);  // -inf
  CHECK(std::isnan(sig[finite + 2]));  // NaN stays NaN

  for (int o : {1, 2}) {  // x * Sigmoid(x), and Silu: the same within 5e-6 (relative) down to -87
    INFO("output " << o);
    const float* silu = got[o].data<float>();
    double worst_silu = 0;
    for (size_t i = 0; i < finite; ++i) {
      const double v = xs[i], want = v / (1 + std::exp(-v));
      if (v >= -87 && v != 0) worst_silu = std::max(worst_silu, std::fabs(silu[i] - want) / std::fabs(want));
    }
    CHECK(worst_silu < 5e-6);
    CHECK(silu[finite] == inf);
    CHECK(std::isnan(silu[finite + 2]));
  }
}
