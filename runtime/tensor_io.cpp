#include "runtime/tensor_io.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "frontend/onnx.h"
#include "ir/error.h"

namespace nnc {
namespace {

struct NpyType { const char* descr; DType dtype; };
const NpyType kNpyTypes[] = {
    {"<f4", DType::Float32}, {"<f8", DType::Float64}, {"<f2", DType::Float16}, {"<i1", DType::Int8},
    {"|i1", DType::Int8},    {"<i2", DType::Int16},   {"<i4", DType::Int32},   {"<i8", DType::Int64},
    {"|u1", DType::UInt8},   {"<u1", DType::UInt8},   {"<u2", DType::UInt16},  {"<u4", DType::UInt32},
    {"<u8", DType::UInt64},  {"|b1", DType::Bool},
};

}  // namespace

Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  char magic[8];
  if (!in.read(magic, 8) || std::string(magic, 6) != "\x93NUMPY") throw Error("'" + path + "' is not a .npy file");
  uint32_t header_len = 0;
  unsigned char lenbuf[4] = {0, 0, 0, 0};
  int len_bytes = magic[6] == 1 ? 2 : 4;
  if (!in.read(reinterpret_cast<char*>(lenbuf), len_bytes)) throw Error("'" + path + "': truncated .npy header");
  for (int i = len_bytes - 1; i >= 0; --i) header_len = header_len * 256 + lenbuf[i];
  if (header_len > (1u << 20)) throw Error("'" + path + "': .npy header too large");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw Error("'" + path + "': truncated .npy header");
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'"))) throw Error("'" + path + "': no descr in .npy header");
  std::string descr = m[1];
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True"))) throw Error("'" + path + "': Fortran-ordered .npy is not supported");
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) throw Error("'" + path + "': no shape in .npy header");
  Shape shape;
  std::stringstream dims(m[1].str());
  for (std::string d; std::getline(dims, d, ',');) {
    d.erase(std::remove_if(d.begin(), d.end(), ::isspace), d.end());
    if (d.empty()) continue;
    try { shape.push_back(std::stoll(d)); } catch (const std::exception&) { throw Error("'" + path + "': bad shape in .npy header"); }
  }
  DType dt = DType::Undefined;
  for (const auto& t : kNpyTypes) if (descr == t.descr) dt = t.dtype;
  if (dt == DType::Undefined) throw Error("'" + path + "': unsupported .npy dtype '" + descr + "'");
  Tensor t(dt, shape);
  if (!in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes())))
    throw Error("'" + path + "': .npy data is shorter than its shape " + shape_str(shape));
  return t;
}

void write_npy(const Tensor& t, const std::string& path) {
  const char* descr = nullptr;
  for (const auto& e : kNpyTypes) if (e.dtype == t.dtype() && !descr) descr = e.descr;
  if (!descr) throw Error(std::string("cannot write ") + dtype_name(t.dtype()) + " as .npy", ErrorKind::Runtime);
  std::string shape;
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  char lb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(lb, 2);
  out << header;
  out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) throw Error("cannot write '" + path + "'", ErrorKind::Runtime);
}

Tensor read_tensor_file(const std::string& path) {
  if (path.size() >= 4 && path.substr(path.size() - 4) == ".npy") return read_npy(path);
  return read_tensor_pb(path);
}

Tensor random_input(const Value& v, uint64_t seed, const std::map<std::string, int64_t>& dim_values) {
  Shape shape;
  if (v.dims) {
    for (const Dim& d : *v.dims) {
      if (d.is_static()) { shape.push_back(d.value); continue; }
      auto it = dim_values.find(d.symbol);
      shape.push_back(it == dim_values.end() ? 1 : it->second);
    }
  }
  Tensor t(v.dtype, shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::uniform_int_distribution<int> small(0, 9);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (is_float(v.dtype)) t.set_double(i, uni(rng));
    else if (v.dtype == DType::Bool) t.set_double(i, small(rng) % 2);
    else if (v.dtype == DType::String) t.strings()[i] = std::to_string(small(rng));
    else t.set_double(i, small(rng));
  }
  return t;
}

std::map<std::string, int64_t> parse_dim_values(const std::vector<std::string>& specs) {
  std::map<std::string, int64_t> dims;
  for (const std::string& d : specs) {
    auto eq = d.find('=');
    char* end = nullptr;
    long long size = eq == std::string::npos ? -1 : std::strtoll(d.c_str() + eq + 1, &end, 10);
    if (eq == std::string::npos || eq == 0 || size < 0 || !end || *end)
      throw Error("--dim expects NAME=SIZE with SIZE >= 0, got '" + d + "'", ErrorKind::Runtime);
    dims[d.substr(0, eq)] = size;
  }
  return dims;
}

std::string summarize(const Tensor& t, int first_values) {
  std::ostringstream os;
  os << dtype_name(t.dtype()) << shape_str(t.shape());
  if (t.dtype() == DType::String || t.numel() == 0) return os.str();
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = t.at_double(i);
    lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
  }
  os << "  min " << lo << "  max " << hi << "  mean " << sum / static_cast<double>(t.numel());
  if (first_values <= 0) return os.str();
  os << "  first [";
  for (int64_t i = 0; i < std::min<int64_t>(first_values, t.numel()); ++i) os << (i ? ", " : "") << t.at_double(i);
  os << (t.numel() > first_values ? ", ...]" : "]");
  return os.str();
}

}  // namespace nnc
