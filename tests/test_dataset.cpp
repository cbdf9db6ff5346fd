// Training data loaders: IDX (plain and gzipped), NPY and CSV files written byte by byte here,
// the errors malformed files give, and the seeded shuffle, validation split and batching.
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "ir/error.h"
#include "runtime/dataset.h"

using namespace nnc;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

// A fresh directory under the system temp directory, removed with everything in it at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path() / ("nnc_test_dataset_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_text(const std::string& path, const std::string& text) { write_file(path, Bytes(text.begin(), text.end())); }

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

// IDX u8, 3 dims [2, 2, 3]: two 2x3 images with pixels k * 51 (so k / 5 after scaling by 1/255).
const Bytes kImages = {0x00, 0x00, 0x08, 0x03, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3,
                       0,    51,   102,  153,  204, 255,
                       255,  204,  153,  102,  51,  0};
// IDX u8, 1 dim [2]: labels 7 and 3.
const Bytes kLabels = {0x00, 0x00, 0x08, 0x01, 0, 0, 0, 2, 7, 3};

// A version 1.0 .npy file: the header dict padded with spaces so the data starts at byte 64k.
Bytes npy_file(const std::string& dict, const void* data, size_t nbytes) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(header.size() & 0xff), static_cast<uint8_t>(header.size() >> 8)};
  b.insert(b.end(), header.begin(), header.end());
  const auto* p = static_cast<const uint8_t*>(data);
  b.insert(b.end(), p, p + nbytes);
  return b;
}

std::vector<float> floats(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }
std::vector<int64_t> int64s(const Tensor& t) { return t.to_int64s(); }

}  // namespace

TEST_CASE("load_idx reads plain and gzipped IDX files with the file's dims and dtype", "[dataset]") {
  TempDir dir;
  write_file(dir / "images", kImages);
  write_gz(dir / "images.gz", kImages);
  Tensor plain = load_idx(dir / "images");
  CHECK(plain.dtype() == DType::UInt8);
  CHECK(plain.shape() == Shape{2, 2, 3});
  CHECK(plain.data<uint8_t>()[1] == 51);
  CHECK(plain.data<uint8_t>()[6] == 255);
  CHECK(load_idx(dir / "images.gz") == plain);

  // Wider types are big-endian: i32 0x01020304 and -2, f32 0x3fc00000 = 1.5.
  write_file(dir / "i32", {0, 0, 0x0C, 1, 0, 0, 0, 2, 0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfe});
  Tensor i32 = load_idx(dir / "i32");
  CHECK(i32.dtype() == DType::Int32);
  CHECK(int64s(i32) == std::vector<int64_t>{0x01020304, -2});
  write_file(dir / "f32", {0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0x00, 0x00});
  CHECK(load_idx(dir / "f32").data<float>()[0] == 1.5f);
}

TEST_CASE("load_idx_dir finds MNIST-named files, plain or gzipped, and scales pixels to [0, 1]", "[dataset]") {
  TempDir dir;
  write_file(dir / "train-images-idx3-ubyte", kImages);
  write_file(dir / "train-labels-idx1-ubyte", kLabels);
  write_gz(dir / "t10k-images-idx3-ubyte.gz", kImages);
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", kLabels);
  DataSplit s = load_idx_dir(dir.path.string());
  for (const Dataset* d : {&s.train, &s.test}) {
    REQUIRE(d->size() == 2);
    CHECK(d->x.dtype() == DType::Float32);
    CHECK(d->x.shape() == Shape{2, 2, 3});
    // 51 / 255 = 0.2 and so on; float division rounds to the nearest float, as the literals do.
    CHECK(floats(d->x) == std::vector<float>{0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f, 1.0f, 0.8f, 0.6f, 0.4f, 0.2f, 0.0f});
    REQUIRE(d->labelled());
    CHECK(d->y.dtype() == DType::Int64);
    CHECK(int64s(d->y) == std::vector<int64_t>{7, 3});
  }
  // load_dataset recognises the directory too.
  CHECK(load_dataset(dir.path.string()).train.x == s.train.x);
}

TEST_CASE("an IDX directory without labels or a test set loads unlabelled training data", "[dataset]") {
  TempDir dir;
  write_gz(dir / "train-images-idx3-ubyte.gz", kImages);
  DataSplit s = load_dataset(dir.path.string());
  CHECK(s.train.size() == 2);
  CHECK_FALSE(s.train.labelled());
  CHECK(s.test.size() == 0);
  CHECK_FALSE(s.test.labelled());
}

TEST_CASE("malformed IDX data throws errors naming the file", "[dataset]") {
  TempDir dir;
  CHECK_THROWS_WITH(load_idx(dir / "missing"), Catch::Contains("cannot open") && Catch::Contains("missing"));
  CHECK_THROWS_WITH(load_idx(dir.path.string()), Catch::Contains("not a regular file"));

  Bytes truncated(kImages.begin(), kImages.end() - 1);
  write_file(dir / "truncated", truncated);
  CHECK_THROWS_WITH(load_idx(dir / "truncated"), Catch::Contains("truncated") && Catch::Contains("need 12 bytes"));
  write_gz(dir / "truncated.gz", truncated);
  CHECK_THROWS_WITH(load_idx(dir / "truncated.gz"), Catch::Contains("truncated.gz' is truncated"));
  write_file(dir / "corrupt.gz", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK_THROWS_WITH(load_idx(dir / "corrupt.gz"), Catch::Contains("corrupt.gz"));
  write_file(dir / "short_header", {0, 0, 8, 3, 0, 0, 0, 2});
  CHECK_THROWS_WITH(load_idx(dir / "short_header"), Catch::Contains("truncated"));

  Bytes longer = kImages;
  longer.push_back(0);
  write_file(dir / "longer", longer);
  CHECK_THROWS_WITH(load_idx(dir / "longer"), Catch::Contains("holds 13"));

  Bytes bad_magic = kImages;
  bad_magic[0] = 0x1f;
  write_file(dir / "bad_magic", bad_magic);
  CHECK_THROWS_WITH(load_idx(dir / "bad_magic"), Catch::Contains("bad_magic' is not an IDX file (bad magic"));
  Bytes bad_type = kImages;
  bad_type[2] = 0x0A;
  write_file(dir / "bad_type", bad_type);
  CHECK_THROWS_WITH(load_idx(dir / "bad_type"), Catch::Contains("unsupported IDX element type 0x0a"));

  // Dims whose product overflows int64, and dims far beyond what a small .gz can hold.
  write_file(dir / "huge", {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK_THROWS_WITH(load_idx(dir / "huge"), Catch::Contains("huge"));
  write_gz(dir / "big.gz", {0, 0, 8, 2, 0, 1, 0, 0, 0, 1, 0, 0});
  CHECK_THROWS_WITH(load_idx(dir / "big.gz"), Catch::Contains("truncated"));

  write_file(dir / "train-images-idx3-ubyte", kImages);
  write_file(dir / "train-labels-idx1-ubyte", {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3});
  CHECK_THROWS_WITH(load_idx_dir(dir.path.string()), Catch::Contains("has 2 samples but") && Catch::Contains("has 3 labels"));
  // Float labels must be whole class indices.
  write_file(dir / "train-labels-idx1-ubyte", {0, 0, 0x0D, 1, 0, 0, 0, 2, 0x3f, 0xc0, 0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH(load_idx_dir(dir.path.string()), Catch::Contains("label 1.5 at index 0 is not a class index"));
}

TEST_CASE("load_npy reads a hand-written '<f4' file and load_dataset takes .npy sources", "[dataset]") {
  TempDir dir;
  const float values[6] = {1.5f, -2.0f, 0.25f, 3.0f, 4.0f, -0.5f};
  write_file(dir / "x.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", values, sizeof values));
  Tensor t = load_npy(dir / "x.npy");
  CHECK(t.shape() == Shape{2, 3});
  CHECK(floats(t) == std::vector<float>(values, values + 6));
  DataSplit s = load_dataset(dir / "x.npy");
  CHECK(s.train.x == t);
  CHECK_FALSE(s.train.labelled());

  // A directory of x_train.npy (u8 pixels, scaled) and y_train.npy (int64 labels).
  const uint8_t pixels[4] = {0, 51, 255, 102};
  const int64_t labels[2] = {4, 0};
  write_file(dir / "x_train.npy", npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", pixels, 4));
  write_file(dir / "y_train.npy", npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", labels, 16));
  s = load_dataset(dir.path.string());
  CHECK(floats(s.train.x) == std::vector<float>{0.0f, 0.2f, 1.0f, 0.4f});
  CHECK(int64s(s.train.y) == std::vector<int64_t>{4, 0});
  CHECK(s.test.size() == 0);

  write_file(dir / "fortran.npy", npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", values, sizeof values));
  CHECK_THROWS_WITH(load_npy(dir / "fortran.npy"), Catch::Contains("fortran.npy") && Catch::Contains("Fortran"));
  write_file(dir / "complex.npy", npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", values, sizeof values));
  CHECK_THROWS_WITH(load_npy(dir / "complex.npy"), Catch::Contains("unsupported .npy dtype '<c8'"));
  write_file(dir / "short.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", values, sizeof values));
  CHECK_THROWS_WITH(load_npy(dir / "short.npy"), Catch::Contains("short.npy"));
  CHECK_THROWS_WITH(load_npy(dir / "none.npy"), Catch::Contains("cannot open") && Catch::Contains("none.npy"));
}

TEST_CASE("load_csv skips a header and takes the label column from either end", "[dataset]") {
  TempDir dir;
  write_text(dir / "data.csv", "a,b,label\r\n1,2,0\r\n3, -4.5 ,2\r\n\r\n");
  Dataset d = load_csv(dir / "data.csv", -1);
  CHECK(d.x.shape() == Shape{2, 2});
  CHECK(floats(d.x) == std::vector<float>{1, 2, 3, -4.5f});
  CHECK(int64s(d.y) == std::vector<int64_t>{0, 2});
  d = load_csv(dir / "data.csv", 0);
  CHECK(floats(d.x) == std::vector<float>{2, 0, -4.5f, 2});
  CHECK(int64s(d.y) == std::vector<int64_t>{1, 3});
  d = load_csv(dir / "data.csv", std::nullopt);
  CHECK(d.x.shape() == Shape{2, 3});
  CHECK_FALSE(d.labelled());
  CHECK(load_dataset(dir / "data.csv", 2).train.y == load_csv(dir / "data.csv", -1).y);

  // No header: the first line is data.
  write_text(dir / "plain.csv", "5,1\n6,0\n7,1\n");
  CHECK(load_csv(dir / "plain.csv", 1).size() == 3);

  write_text(dir / "ragged.csv", "1,2,3\n4,5\n");
  CHECK_THROWS_WITH(load_csv(dir / "ragged.csv", -1), Catch::Contains("ragged.csv' line 2: 2 columns, expected 3"));
  write_text(dir / "word.csv", "x,y\n1,2\n3,abc\n");
  CHECK_THROWS_WITH(load_csv(dir / "word.csv", -1), Catch::Contains("line 3 column 2: 'abc' is not a number"));
  write_text(dir / "fraction.csv", "1,0.5\n");
  CHECK_THROWS_WITH(load_csv(dir / "fraction.csv", -1), Catch::Contains("not a class index"));
  CHECK_THROWS_WITH(load_csv(dir / "plain.csv", 2), Catch::Contains("label column 2 is out of range"));
  write_text(dir / "header_only.csv", "a,b\n");
  CHECK_THROWS_WITH(load_csv(dir / "header_only.csv", -1), Catch::Contains("no data rows"));
  CHECK_THROWS_WITH(load_dataset(dir / "data.txt"), Catch::Contains("cannot open"));
}

TEST_CASE("shuffled_indices is a permutation fixed by the seed", "[dataset]") {
  std::vector<int64_t> a = shuffled_indices(100, 42);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(100);
  std::iota(iota.begin(), iota.end(), int64_t{0});
  CHECK(sorted == iota);
  CHECK(a != iota);
  CHECK(shuffled_indices(100, 42) == a);
  CHECK(shuffled_indices(100, 43) != a);
  CHECK(shuffled_indices(0, 1).empty());
  CHECK(shuffled_indices(1, 1) == std::vector<int64_t>{0});
}

TEST_CASE("split_validation holds out the last rows and gather_batch copies the chosen rows", "[dataset]") {
  // 10 samples with features [10 r, 10 r + 1] and label r.
  std::vector<float> xs;
  std::vector<int64_t> ys;
  for (int r = 0; r < 10; ++r) xs.push_back(10.0f * r), xs.push_back(10.0f * r + 1), ys.push_back(r);
  Dataset d{Tensor::from_floats(xs, {10, 2}), Tensor::from_int64s(ys, {10})};

  auto [train, val] = split_validation(d, 0.2);
  CHECK(train.size() == 8);
  CHECK(val.size() == 2);
  CHECK(int64s(val.y) == std::vector<int64_t>{8, 9});
  CHECK(floats(val.x) == std::vector<float>{80, 81, 90, 91});
  CHECK(split_validation(d, 0.0).second.size() == 0);
  CHECK_THROWS_AS(split_validation(d, 1.0), Error);
  CHECK(split_validation(Dataset(), 0.5).first.size() == 0);

  std::vector<int64_t> idx = {3, 1, 0, 2};
  Dataset batch = gather_batch(d, idx, 1, 3);
  CHECK(batch.x.shape() == Shape{2, 2});
  CHECK(floats(batch.x) == std::vector<float>{10, 11, 0, 1});
  CHECK(int64s(batch.y) == std::vector<int64_t>{1, 0});
  CHECK(gather_batch(d, idx, 2, 2).size() == 0);
  CHECK_THROWS_AS(gather_batch(d, idx, 3, 5), Error);
  CHECK_THROWS_WITH(gather_batch(d, {10}, 0, 1), Catch::Contains("row 10 is outside"));
}

TEST_CASE("Fashion-MNIST loads with 60000 + 10000 labelled 28x28 images", "[dataset]") {
  const std::string path = "/work/shared/data/fashion-mnist";
  if (!fs::is_directory(path)) {
    WARN("skipped: " << path << " is absent");
    return;
  }
  DataSplit s = load_dataset(path);
  CHECK(s.train.x.shape() == Shape{60000, 28, 28});
  CHECK(s.test.x.shape() == Shape{10000, 28, 28});
  for (const Dataset* d : {&s.train, &s.test}) {
    REQUIRE(d->labelled());
    REQUIRE(d->y.shape() == Shape{d->size()});
    std::vector<int64_t> labels = int64s(d->y);
    REQUIRE(std::all_of(labels.begin(), labels.end(), [](int64_t l) { return l >= 0 && l <= 9; }));
    std::vector<int64_t> per_class(10, 0);
    for (int64_t label : labels) ++per_class[static_cast<size_t>(label)];
    CHECK(per_class == std::vector<int64_t>(10, d->size() / 10));  // the classes are balanced
    auto [lo, hi] = std::minmax_element(d->x.data<float>(), d->x.data<float>() + d->x.numel());
    CHECK(*lo == 0.0f);
    CHECK(*hi == 1.0f);
  }
}
