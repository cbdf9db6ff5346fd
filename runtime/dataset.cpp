#include "runtime/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "ir/checked.h"
#include "ir/error.h"
#include "runtime/tensor_io.h"

namespace nnc {
namespace {

namespace fs = std::filesystem;

std::string quote_path(const std::string& path) { return "'" + path + "'"; }

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// gzopen would report a missing file or a directory only as a failed read; say what is wrong.
void require_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("cannot open " + quote_path(path) + ": no such file");
  if (!fs::is_regular_file(path, ec)) throw Error("cannot open " + quote_path(path) + ": not a regular file");
}

// A file read through zlib: gzread decompresses a gzip stream and copies a plain file as is.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    require_file(path);
    file_size_ = fs::file_size(path);
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) throw Error("cannot open " + quote_path(path));
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; fewer only at the end of the data (or of a truncated gzip stream).
  size_t read(void* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, size_t{1} << 30));
      int got = gzread(file_, static_cast<char*>(dst) + done, chunk);
      if (got < 0) {
        int code = 0;
        std::string msg = gzerror(file_, &code);
        if (msg.starts_with(path_ + ": ")) msg.erase(0, path_.size() + 2);  // zlib prefixes the path
        throw Error(quote_path(path_) + ": cannot decompress: " + msg);
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }
  bool compressed() { return gzdirect(file_) == 0; }
  uint64_t file_size() const { return file_size_; }

 private:
  std::string path_;
  uint64_t file_size_ = 0;
  gzFile file_ = nullptr;
};

struct IdxType { uint8_t code; DType dtype; };
constexpr IdxType kIdxTypes[] = {{0x08, DType::UInt8}, {0x09, DType::Int8},    {0x0B, DType::Int16},
                                 {0x0C, DType::Int32}, {0x0D, DType::Float32}, {0x0E, DType::Float64}};
// Deflate never expands data by more than 1032:1, which bounds what a .gz file can hold.
constexpr uint64_t kMaxDeflateRatio = 1032;

std::string hex_byte(uint8_t b) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

// Numeric features as float32; uint8 (image) data is scaled to [0, 1].
Tensor to_features(const Tensor& x, const std::string& source) {
  if (x.empty() || x.rank() < 1) throw Error(quote_path(source) + ": features need dims [N, ...], got a scalar");
  if (x.dtype() == DType::UInt8) {
    Tensor f(DType::Float32, x.shape());
    const uint8_t* src = x.data<uint8_t>();
    float* dst = f.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
    return f;
  }
  if (!is_float(x.dtype()) && !is_integer(x.dtype()))
    throw Error(quote_path(source) + ": features of type " + dtype_name(x.dtype()) + " are not numbers");
  return x.dtype() == DType::Float32 ? x : x.cast(DType::Float32);
}

// Class labels as int64 [n]: integral values in [0, 2^31), so any index type can hold them.
Tensor to_labels(const Tensor& y, int64_t n, const std::string& source) {
  bool column = y.rank() == 1 || (y.rank() == 2 && y.dim(1) == 1);
  if (!column) throw Error(quote_path(source) + ": labels need dims [N] or [N,1], got " + shape_str(y.shape()));
  if (y.dim(0) != n) throw Error(quote_path(source) + " has " + std::to_string(y.dim(0)) + " labels for " + std::to_string(n) + " samples");
  if (!is_float(y.dtype()) && !is_integer(y.dtype()) && y.dtype() != DType::Bool)
    throw Error(quote_path(source) + ": labels of type " + dtype_name(y.dtype()) + " are not numbers");
  Tensor out(DType::Int64, {n});
  int64_t* dst = out.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    double v = y.at_double(i);
    if (!(v >= 0 && v <= std::numeric_limits<int32_t>::max() && v == std::floor(v)))
      throw Error(quote_path(source) + ": label " + num(v) + " at index " + std::to_string(i) +
                  " is not a class index (an integer in [0, 2147483647])");
    dst[i] = static_cast<int64_t>(v);
  }
  return out;
}

// Features from x_path and, when y_path is given, labels from it, both read with `load`.
Dataset load_pair(Tensor (*load)(const std::string&), const std::string& x_path, const std::optional<std::string>& y_path) {
  Dataset d;
  d.x = to_features(load(x_path), x_path);
  if (!y_path) return d;
  Tensor y = load(*y_path);
  if (y.rank() >= 1 && y.dim(0) != d.size())
    throw Error(quote_path(x_path) + " has " + std::to_string(d.size()) + " samples but " + quote_path(*y_path) + " has " +
                std::to_string(y.dim(0)) + " labels");
  d.y = to_labels(y, d.size(), *y_path);
  return d;
}

// The first existing file among prefix-kind-idxN-ubyte and prefix-kind.idxN-ubyte, each plain or .gz.
std::optional<std::string> find_idx(const fs::path& dir, const std::string& prefix, const std::string& kind, int idx_dims) {
  std::string tail = "idx" + std::to_string(idx_dims) + "-ubyte";
  for (const std::string& name : {prefix + "-" + kind + "-" + tail, prefix + "-" + kind + "." + tail})
    for (const char* ext : {"", ".gz"})
      if (std::error_code ec; fs::exists(dir / (name + ext), ec)) return (dir / (name + ext)).string();
  return std::nullopt;
}

std::optional<std::string> existing(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec) ? std::optional<std::string>(p.string()) : std::nullopt;
}

// Parses one CSV cell (surrounding blanks and double quotes allowed) as a number.
bool parse_number(std::string_view s, double& v) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);  // from_chars rejects a leading '+'
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Dataset make_dataset(const Tensor& x, const Tensor& y, const std::string& source) {
  Dataset d;
  d.x = to_features(x, source);
  if (!y.empty()) d.y = to_labels(y, d.size(), source);
  return d;
}

Tensor load_idx(const std::string& path) {
  GzReader in(path);
  uint8_t magic[4];
  if (in.read(magic, 4) != 4) throw Error(quote_path(path) + " is truncated: no IDX header");
  if (magic[0] != 0 || magic[1] != 0)
    throw Error(quote_path(path) + " is not an IDX file (bad magic " + hex_byte(magic[0]) + " " + hex_byte(magic[1]) + ")");
  DType dtype = DType::Undefined;
  for (const IdxType& t : kIdxTypes)
    if (t.code == magic[2]) dtype = t.dtype;
  if (dtype == DType::Undefined) throw Error(quote_path(path) + ": unsupported IDX element type " + hex_byte(magic[2]));
  int ndims = magic[3];
  if (ndims == 0) throw Error(quote_path(path) + ": IDX file with no dims");
  std::vector<uint8_t> dim_bytes(4 * static_cast<size_t>(ndims));
  if (in.read(dim_bytes.data(), dim_bytes.size()) != dim_bytes.size()) throw Error(quote_path(path) + " is truncated in its IDX header");
  Shape shape;
  for (int i = 0; i < ndims; ++i) {
    const uint8_t* b = &dim_bytes[4 * static_cast<size_t>(i)];
    shape.push_back((int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | int64_t{b[3]});
  }
  std::string what = quote_path(path) + ": IDX dims " + shape_str(shape);
  size_t esize = dtype_size(dtype);
  auto nbytes = static_cast<uint64_t>(checked_bytes(checked_numel(shape, what), static_cast<int64_t>(esize), what));
  auto need = [&](uint64_t holds) {
    return " IDX dims " + shape_str(shape) + " need " + std::to_string(nbytes) + " bytes of data, the file holds " +
           (holds == nbytes ? "more" : std::to_string(holds));
  };
  // Check the size before allocating, so a corrupt header cannot make us allocate gigabytes.
  uint64_t header = 4 + dim_bytes.size();
  if (!in.compressed() && in.file_size() - header != nbytes)
    throw Error(quote_path(path) + (in.file_size() - header < nbytes ? " is truncated:" : ":") + need(in.file_size() - header));
  if (in.compressed() && nbytes > in.file_size() * kMaxDeflateRatio)
    throw Error(quote_path(path) + " is truncated: IDX dims " + shape_str(shape) + " need " + std::to_string(nbytes) +
                " bytes of data, more than " + std::to_string(in.file_size()) + " compressed bytes can hold");
  Tensor t(dtype, shape);
  size_t got = in.read(t.raw(), nbytes);
  if (got != nbytes) throw Error(quote_path(path) + " is truncated:" + need(got));
  uint8_t extra = 0;
  if (in.read(&extra, 1) != 0) throw Error(quote_path(path) + ":" + need(nbytes));
  // IDX data is big-endian.
  if constexpr (std::endian::native == std::endian::little) {
    auto* p = static_cast<uint8_t*>(t.raw());
    if (esize > 1)
      for (size_t i = 0; i < nbytes; i += esize) std::reverse(p + i, p + i + esize);
  }
  return t;
}

DataSplit load_idx_dir(const std::string& dir) {
  DataSplit split;
  auto train_images = find_idx(dir, "train", "images", 3);
  if (!train_images) throw Error(quote_path(dir) + " holds no train-images-idx3-ubyte[.gz]");
  split.train = load_pair(load_idx, *train_images, find_idx(dir, "train", "labels", 1));
  auto test_images = find_idx(dir, "t10k", "images", 3);
  auto test_labels = find_idx(dir, "t10k", "labels", 1);
  if (test_images) split.test = load_pair(load_idx, *test_images, test_labels);
  else if (test_labels) throw Error(quote_path(*test_labels) + " has no t10k-images-idx3-ubyte[.gz] beside it");
  return split;
}

Tensor load_npy(const std::string& path) {
  require_file(path);
  try {
    return read_npy(path);
  } catch (const Error& e) {
    // Shape checks inside Tensor do not know the file; name it.
    if (std::string(e.what()).find(path) != std::string::npos) throw;
    throw Error(quote_path(path) + ": " + e.what());
  }
}

Dataset load_csv(const std::string& path, std::optional<int> label_column) {
  require_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + quote_path(path));
  std::vector<double> values;
  std::vector<std::string_view> cells;
  int64_t cols = -1, rows = 0, line_no = 0, first_line = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // UTF-8 byte order mark
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    cells.clear();
    for (size_t start = 0;;) {
      size_t comma = line.find(',', start);
      cells.emplace_back(line.data() + start, (comma == std::string::npos ? line.size() : comma) - start);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    size_t bad = cells.size();
    size_t row_start = values.size();
    for (size_t c = 0; c < cells.size() && bad == cells.size(); ++c) {
      double v = 0;
      if (parse_number(cells[c], v)) values.push_back(v);
      else bad = c;
    }
    if (cols < 0) {
      cols = static_cast<int64_t>(cells.size()), first_line = line_no;
      if (bad < cells.size()) { values.resize(row_start); continue; }  // a header line
    }
    if (static_cast<int64_t>(cells.size()) != cols)
      throw Error(quote_path(path) + " line " + std::to_string(line_no) + ": " + std::to_string(cells.size()) +
                  " columns, expected " + std::to_string(cols) + " as in line " + std::to_string(first_line));
    if (bad < cells.size())
      throw Error(quote_path(path) + " line " + std::to_string(line_no) + " column " + std::to_string(bad + 1) + ": '" +
                  std::string(cells[bad]) + "' is not a number");
    ++rows;
  }
  if (in.bad()) throw Error("cannot read " + quote_path(path));
  if (rows == 0) throw Error(quote_path(path) + ": no data rows");
  int64_t label = -1;
  if (label_column) {
    int64_t k = *label_column;
    if (k < -cols || k >= cols)
      throw Error(quote_path(path) + ": label column " + std::to_string(k) + " is out of range for " + std::to_string(cols) + " columns");
    label = k < 0 ? cols + k : k;
  }
  int64_t features = label >= 0 ? cols - 1 : cols;
  if (features == 0) throw Error(quote_path(path) + ": no feature columns besides the label");
  Dataset d;
  d.x = Tensor(DType::Float32, {rows, features});
  Tensor raw_labels(DType::Float64, {label >= 0 ? rows : 0});
  float* x = d.x.data<float>();
  double* y = raw_labels.data<double>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      double v = values[static_cast<size_t>(r * cols + c)];
      if (c == label) y[r] = v;
      else *x++ = static_cast<float>(v);
    }
  if (label >= 0) d.y = to_labels(raw_labels, rows, path);
  return d;
}

DataSplit load_dataset(const std::string& path, std::optional<int> csv_label_column) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  std::error_code ec;
  bool is_dir = fs::is_directory(path, ec);
  if (csv_label_column && (is_dir || ext != ".csv"))
    throw Error("a label column applies to .csv data only, not to " + quote_path(path), ErrorKind::Runtime);
  if (is_dir) {
    fs::path dir(path);
    if (!existing(dir / "x_train.npy")) {
      if (!find_idx(dir, "train", "images", 3))
        throw Error(quote_path(path) + " holds neither train-images-idx3-ubyte[.gz] nor x_train.npy");
      return load_idx_dir(path);
    }
    DataSplit split;
    split.train = load_pair(load_npy, (dir / "x_train.npy").string(), existing(dir / "y_train.npy"));
    if (auto x_test = existing(dir / "x_test.npy")) split.test = load_pair(load_npy, *x_test, existing(dir / "y_test.npy"));
    else if (auto y_test = existing(dir / "y_test.npy")) throw Error(quote_path(*y_test) + " has no x_test.npy beside it");
    return split;
  }
  if (ext == ".npy") return {make_dataset(load_npy(path), Tensor(), path), Dataset()};
  if (ext == ".csv") return {load_csv(path, csv_label_column), Dataset()};
  require_file(path);
  throw Error(quote_path(path) + ": unknown kind of dataset (expected a directory of IDX or .npy files, a .npy or a .csv file)");
}

std::pair<Dataset, Dataset> split_validation(const Dataset& d, double fraction) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw Error("the validation fraction must lie in [0, 1), got " + num(fraction), ErrorKind::Runtime);
  int64_t n = d.size();
  int64_t n_val = std::llround(static_cast<double>(n) * fraction);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  return {gather_batch(d, idx, 0, n - n_val), gather_batch(d, idx, n - n_val, n)};
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed) {
  if (n < 0) throw Error("shuffled_indices: negative count " + std::to_string(n), ErrorKind::Runtime);
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  // std::shuffle and uniform_int_distribution differ between standard libraries; the
  // mt19937_64 stream itself is fixed by the standard.
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    uint64_t bound = static_cast<uint64_t>(i) + 1;
    uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound: rejecting below it removes modulo bias
    uint64_t r = rng();
    while (r < threshold) r = rng();
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(r % bound)]);
  }
  return p;
}

Dataset gather_batch(const Dataset& d, const std::vector<int64_t>& idx, int64_t begin, int64_t end) {
  if (begin < 0 || begin > end || end > static_cast<int64_t>(idx.size()))
    throw Error("gather_batch: range [" + std::to_string(begin) + ", " + std::to_string(end) + ") is outside the " +
                std::to_string(idx.size()) + " indices", ErrorKind::Runtime);
  int64_t n = d.size();
  for (int64_t i = begin; i < end; ++i)
    if (idx[static_cast<size_t>(i)] < 0 || idx[static_cast<size_t>(i)] >= n)
      throw Error("gather_batch: row " + std::to_string(idx[static_cast<size_t>(i)]) + " is outside a dataset of " +
                  std::to_string(n) + " samples", ErrorKind::Runtime);
  if (d.x.empty()) return {};  // only reachable with begin == end
  if (d.labelled() && (d.y.rank() < 1 || d.y.dim(0) != n))
    throw Error("gather_batch: " + std::to_string(n) + " samples but labels " + shape_str(d.y.shape()), ErrorKind::Runtime);
  auto rows = [&](const Tensor& t) {
    if (t.dtype() == DType::String) throw Error("gather_batch: string tensors are not supported", ErrorKind::Runtime);
    Shape shape = t.shape();
    shape[0] = end - begin;
    Tensor out(t.dtype(), shape);
    size_t row_bytes = n ? t.nbytes() / static_cast<size_t>(n) : 0;
    auto* dst = static_cast<uint8_t*>(out.raw());
    const auto* src = static_cast<const uint8_t*>(t.raw());
    for (int64_t i = begin; i < end; ++i)
      std::memcpy(dst + static_cast<size_t>(i - begin) * row_bytes, src + static_cast<size_t>(idx[static_cast<size_t>(i)]) * row_bytes, row_bytes);
    return out;
  };
  Dataset batch;
  batch.x = rows(d.x);
  if (d.labelled()) batch.y = rows(d.y);
  return batch;
}

}  // namespace nnc
