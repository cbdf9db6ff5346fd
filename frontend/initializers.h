// Weight initialisers for training: Xavier (Glorot), He (Kaiming) and LeCun, uniform or normal.
//
//   Tensor w = initialize(InitScheme::HeNormal, {64, 3, 3, 3}, conv_fans({64, 3, 3, 3}), seed);
//
// The random stream is std::mt19937_64 (whose output the C++ standard fixes) turned into
// uniform and normal values by hand, not by std:: distributions (which differ between standard
// libraries): uniform weights are bit-identical everywhere; normal ones go through log/cos/sin,
// which may differ in the last bit between maths libraries, so at most a float ulp apart.
#pragma once
#include <cstdint>
#include <string>

#include "ir/error.h"
#include "ir/tensor.h"

namespace nnc {

enum class InitScheme { XavierUniform, XavierNormal, HeUniform, HeNormal, LecunUniform, LecunNormal };

// "xavier-uniform", "glorot-normal" (glorot = xavier), "he-normal", "kaiming-uniform" (kaiming = he),
// "lecun-normal", ... Case and '_' vs '-' do not matter. Throws nnc::Error listing the valid names.
InitScheme parse_init_scheme(const std::string& name);
// The canonical name: "xavier-uniform", "he-normal", "lecun-uniform", ...
std::string init_scheme_name(InitScheme s);

struct Fans {
  int64_t in = 0, out = 0;
  bool operator==(const Fans&) const = default;
};

// A convolution weight [M, C/group, k...] (PyTorch's convention, group ignored):
// fan_in = shape[1] * prod(k), fan_out = shape[0] * prod(k).
Fans conv_fans(const Shape& w);
// A 2-D weight. out_major: [out, in] (Gemm with transB=1, PyTorch Linear); else [in, out] (MatMul's B).
Fans linear_fans(const Shape& w, bool out_major);

// A float32 tensor of the given shape filled per the scheme:
//   Xavier: U(+-sqrt(6/(fan_in+fan_out))) / N(0, sqrt(2/(fan_in+fan_out)))
//   He:     U(+-sqrt(6/fan_in))           / N(0, sqrt(2/fan_in))
//   LeCun:  U(+-sqrt(3/fan_in))           / N(0, sqrt(1/fan_in))
// Throws nnc::Error when the fans the scheme needs are not positive.
Tensor initialize(InitScheme s, const Shape& shape, Fans fans, uint64_t seed);

}  // namespace nnc
