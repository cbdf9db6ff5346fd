// Training data: MNIST-style IDX files (plain or gzipped), NumPy .npy files and CSV tables
// loaded as float32 features and int64 class labels, plus the seeded shuffle, validation
// split and batch gathering a training loop needs. Every malformed input is an nnc::Error
// whose one-line message names the file.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/tensor.h"

namespace nnc {

struct Dataset {
  Tensor x;  // float32 [N, ...features]; uint8 sources (IDX, .npy) are scaled to [0, 1] by 1/255
  Tensor y;  // int64 [N] class labels in [0, 2^31); a default (empty()) Tensor when unlabelled
  int64_t size() const { return x.empty() ? 0 : x.dim(0); }
  bool labelled() const { return !y.empty(); }
};

struct DataSplit {
  Dataset train;
  Dataset test;  // size() 0 when the source has no test set
};

// Features and optional labels (a default Tensor for none) as a Dataset: x must be numeric
// with rank >= 1 and becomes float32 (uint8 scaled by 1/255); y must be [N] or [N,1] with
// integral values in [0, 2^31) and becomes int64. `source` names the data in error messages.
Dataset make_dataset(const Tensor& x, const Tensor& y, const std::string& source);

// One IDX file (gzipped or not) with the file's own dims and dtype (u8, i8, i16, i32, f32, f64).
Tensor load_idx(const std::string& path);
// A directory with train-images-idx3-ubyte and optionally train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may end in .gz; "train-images.idx3-ubyte"
// spellings are accepted too). Images keep their dims ([N,28,28] for MNIST).
DataSplit load_idx_dir(const std::string& dir);
// A .npy file (see read_npy in runtime/tensor_io.h), with the file named in every error.
Tensor load_npy(const std::string& path);
// A CSV table of numbers, comma separated. The first line is a header (skipped) when any of
// its cells is not a number. label_column: std::nullopt for unlabelled data, otherwise the
// index of the label column, negative counting from the end as in Python (-1 = last column).
Dataset load_csv(const std::string& path, std::optional<int> label_column);
// A training source: a directory of IDX files (see load_idx_dir) or of x_train.npy with
// optional y_train.npy, x_test.npy, y_test.npy; a .npy file (unlabelled); or a .csv file
// (label column as in load_csv; csv_label_column given for any other source is an error).
DataSplit load_dataset(const std::string& path, std::optional<int> csv_label_column = std::nullopt);

// The last round(size * fraction) rows of d, held out for validation: {train, validation}.
// fraction must lie in [0, 1); shuffle first (gather_batch with shuffled_indices) if needed.
std::pair<Dataset, Dataset> split_validation(const Dataset& d, double fraction);
// A permutation of [0, n) determined by seed alone: std::mt19937_64 with a hand-written
// Fisher-Yates shuffle, so every standard library gives the same order.
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed);
// Rows idx[begin], ..., idx[end - 1] of d as a batch (x: [end - begin, ...], y: [end - begin]).
Dataset gather_batch(const Dataset& d, const std::vector<int64_t>& idx, int64_t begin, int64_t end);

}  // namespace nnc
