// Reference kernels for Einsum (a generic loop over every index assignment), Det (LU with
// partial pivoting), NonMaxSuppression, ReverseSequence, MaxUnpool and
// MeanVarianceNormalization. Arithmetic is done in double and rounded once on output.
#include "runtime/ref/kernels.h"
#include "runtime/ref/einsum_spec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace nnc {

namespace {

// All elements of a numeric tensor as doubles.
std::vector<double> load_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.at_double(i);
  return v;
}

}  // namespace

// Sums the product of the operands over every assignment of the labels; labels missing from
// the output are summed over, a label repeated within a term takes the diagonal, and size-1
// dims broadcast as in numpy.
Tensors ref_Einsum(const KernelContext& ctx) {
  ctx.require(ctx.num_inputs() >= 1, "Einsum needs at least one input");
  const DType dtype = ctx.in(0).dtype();
  for (size_t k = 0; k < ctx.num_inputs(); ++k)
    ctx.require(ctx.in(k).dtype() == dtype && dtype != DType::String && dtype != DType::Bool,
                "inputs must share one numeric element type");
  std::vector<int64_t> ranks;
  for (size_t k = 0; k < ctx.num_inputs(); ++k) ranks.push_back(ctx.in(k).rank());
  EinsumSpec spec;
  try {
    spec = parse_einsum(ctx.attrs().get_string("equation", ""), ranks);
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
  const int max_label = kEllipsis + kMaxEllipsisDims;
  std::vector<int64_t> size(max_label, -1);  // -1: label unused
  for (size_t k = 0; k < spec.operands.size(); ++k)
    for (size_t d = 0; d < spec.operands[k].size(); ++d) {
      int64_t& s = size[spec.operands[k][d]];
      const int64_t dim = ctx.in(k).dim(static_cast<int>(d));
      ctx.require(s == -1 || s == dim || s == 1 || dim == 1, "einsum dims of one label differ in size");
      s = (s == -1 || s == 1) ? dim : s;
    }
  // Loop order: the output labels, then the summed ones.
  std::vector<int> order = spec.output;
  for (int l = 0; l < max_label; ++l)
    if (size[l] != -1 && std::find(order.begin(), order.end(), l) == order.end()) order.push_back(l);
  Shape out_shape;
  for (int l : spec.output) out_shape.push_back(size[l]);
  Tensor y(dtype, out_shape);

  // stride[k][i]: how far operand k (k == n: the output) moves when label order[i] steps.
  const size_t n = spec.operands.size(), L = order.size();
  std::vector<std::vector<int64_t>> stride(n + 1, std::vector<int64_t>(L, 0));
  auto add_strides = [&](size_t k, const std::vector<int>& labels, const Shape& shape) {
    const Shape st = strides_of(shape);
    for (size_t d = 0; d < labels.size(); ++d) {
      size_t i = static_cast<size_t>(std::find(order.begin(), order.end(), labels[d]) - order.begin());
      if (shape[d] != 1 || size[labels[d]] == 1) stride[k][i] += st[d];  // size-1 dims broadcast
    }
  };
  std::vector<std::vector<double>> vals;
  for (size_t k = 0; k < n; ++k) {
    add_strides(k, spec.operands[k], ctx.in(k).shape());
    vals.push_back(load_doubles(ctx.in(k)));
  }
  add_strides(n, spec.output, out_shape);

  Shape sizes;
  for (int l : order) sizes.push_back(size[l]);
  const bool empty = std::find(sizes.begin(), sizes.end(), 0) != sizes.end();
  const int64_t total = empty ? 0 : checked_numel(sizes, "einsum index space");
  std::vector<double> acc(static_cast<size_t>(y.numel()), 0.0);
  std::vector<int64_t> idx(L, 0), off(n + 1, 0);
  for (int64_t it = 0; it < total; ++it) {
    double p = 1;
    for (size_t k = 0; k < n; ++k) p *= vals[k][off[k]];
    acc[off[n]] += p;
    // Odometer step over the labels, last one fastest, moving every offset along.
    for (size_t i = L; i-- > 0;) {
      for (size_t k = 0; k <= n; ++k) off[k] += stride[k][i];
      if (++idx[i] < sizes[i]) break;
      for (size_t k = 0; k <= n; ++k) off[k] -= stride[k][i] * sizes[i];
      idx[i] = 0;
    }
  }
  for (int64_t i = 0; i < y.numel(); ++i) y.set_double(i, acc[i]);
  return {std::move(y)};
}

// ---- Det ----

namespace {

// det(a) for an n x n row-major matrix, by Gaussian elimination with partial pivoting.
double lu_determinant(std::vector<double> a, int64_t n) {
  double det = 1;
  for (int64_t col = 0; col < n; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < n; ++r)
      if (std::fabs(a[r * n + col]) > std::fabs(a[pivot * n + col])) pivot = r;
    if (a[pivot * n + col] == 0) return 0;
    if (pivot != col) {
      for (int64_t c = 0; c < n; ++c) std::swap(a[pivot * n + c], a[col * n + c]);
      det = -det;
    }
    const double d = a[col * n + col];
    det *= d;
    for (int64_t r = col + 1; r < n; ++r) {
      const double f = a[r * n + col] / d;
      for (int64_t c = col; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
    }
  }
  return det;
}

}  // namespace

Tensors ref_Det(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(is_float(x.dtype()), "X must be a float tensor");
  ctx.require(x.rank() >= 2 && x.dim(x.rank() - 1) == x.dim(x.rank() - 2),
              "X must have shape [*, M, M], got " + shape_str(x.shape()));
  const int64_t m = x.dim(x.rank() - 1);
  Tensor y(x.dtype(), Shape(x.shape().begin(), x.shape().end() - 2));
  const std::vector<double> all = load_doubles(x);
  for (int64_t b = 0; b < y.numel(); ++b) {
    auto first = all.begin() + b * m * m;
    y.set_double(b, lu_determinant(std::vector<double>(first, first + m * m), m));
  }
  return {std::move(y)};
}

// ---- NonMaxSuppression ----

namespace {

struct Box { double y1, x1, y2, x2; };

// Box `i` of batch `b` with its corners ordered (y1 <= y2, x1 <= x2).
Box load_box(const Tensor& boxes, int64_t b, int64_t i, bool center_point) {
  const int64_t base = (b * boxes.dim(1) + i) * 4;
  double v[4];
  for (int j = 0; j < 4; ++j) v[j] = boxes.at_double(base + j);
  if (center_point)  // [x_center, y_center, width, height]
    return {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2};
  return {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3])};
}

double iou(const Box& a, const Box& b) {
  const double area_a = (a.y2 - a.y1) * (a.x2 - a.x1), area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
  if (area_a <= 0 || area_b <= 0) return 0;
  const double h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1), w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (h <= 0 || w <= 0) return 0;
  return h * w / (area_a + area_b - h * w);
}

// The value of an optional one-element input, or `def` when it is absent.
double optional_scalar(const KernelContext& ctx, size_t i, double def, const std::string& what) {
  if (!ctx.has_input(i)) return def;
  ctx.require(ctx.in(i).numel() == 1, what + " must be a scalar, got shape " + shape_str(ctx.in(i).shape()));
  return ctx.in(i).at_double(0);
}

}  // namespace

// Greedy per-(batch, class) selection in decreasing score order (ties: lower index first);
// a box is dropped when its IoU with an already selected one exceeds iou_threshold.
Tensors ref_NonMaxSuppression(const KernelContext& ctx) {
  const Tensor& boxes = ctx.in(0);
  const Tensor& scores = ctx.in(1);
  ctx.require(is_float(boxes.dtype()) && is_float(scores.dtype()), "boxes and scores must be float tensors");
  ctx.require(boxes.rank() == 3 && boxes.dim(2) == 4, "boxes must have shape [batches, boxes, 4], got " + shape_str(boxes.shape()));
  ctx.require(scores.rank() == 3 && scores.dim(0) == boxes.dim(0) && scores.dim(2) == boxes.dim(1),
              "scores must have shape [batches, classes, boxes], got " + shape_str(scores.shape()));
  const int64_t center = ctx.attrs().get_int("center_point_box", 0);
  ctx.require(center == 0 || center == 1, "center_point_box must be 0 or 1");
  if (ctx.has_input(2)) ctx.require(ctx.in(2).dtype() == DType::Int64, "max_output_boxes_per_class must be int64");
  const double max_out = optional_scalar(ctx, 2, 0, "max_output_boxes_per_class");
  const double iou_threshold = optional_scalar(ctx, 3, 0, "iou_threshold");
  const bool by_score = ctx.has_input(4);
  const double score_threshold = optional_scalar(ctx, 4, 0, "score_threshold");

  const int64_t batches = scores.dim(0), classes = scores.dim(1), count = scores.dim(2);
  std::vector<int64_t> selected;  // flat triples
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t c = 0; c < classes; ++c) {
      std::vector<int64_t> order;
      std::vector<double> score(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        score[i] = scores.at_double((b * classes + c) * count + i);
        if (!by_score || score[i] > score_threshold) order.push_back(i);
      }
      std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return score[p] > score[q]; });
      std::vector<Box> kept;
      for (int64_t i : order) {
        if (static_cast<double>(kept.size()) >= max_out) break;
        const Box box = load_box(boxes, b, i, center == 1);
        bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const Box& k) { return iou(k, box) > iou_threshold; });
        if (suppressed) continue;
        kept.push_back(box);
        selected.insert(selected.end(), {b, c, i});
      }
    }
  const int64_t rows = static_cast<int64_t>(selected.size() / 3);
  return {Tensor::from_int64s(selected, {rows, 3})};
}

// ---- ReverseSequence ----

// Reverses the first sequence_lens[b] steps along time_axis of each batch entry b.
Tensors ref_ReverseSequence(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& lens_t = ctx.in(1);
  ctx.require(x.rank() >= 2, "input must have rank >= 2, got " + shape_str(x.shape()));
  ctx.require(is_integer(lens_t.dtype()) && lens_t.rank() == 1, "sequence_lens must be a 1-D integer tensor");
  const int64_t batch_axis = ctx.attrs().get_int("batch_axis", 1), time_axis = ctx.attrs().get_int("time_axis", 0);
  ctx.require((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0),
              "batch_axis and time_axis must be 0 and 1 in some order");
  const int64_t batch = x.dim(static_cast<int>(batch_axis)), steps = x.dim(static_cast<int>(time_axis));
  ctx.require(lens_t.dim(0) == batch, "sequence_lens must have one entry per batch entry");
  const std::vector<int64_t> lens = lens_t.to_int64s();
  for (int64_t len : lens)
    ctx.require(len >= 0 && len <= steps, "sequence length " + std::to_string(len) + " is out of range [0, " +
                                              std::to_string(steps) + "]");

  Tensor y(x.dtype(), x.shape());
  const Shape st = strides_of(x.shape());
  const size_t es = dtype_size(x.dtype());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t b = (i / st[batch_axis]) % batch, t = (i / st[time_axis]) % steps;
    const int64_t src = t < lens[b] ? i + (lens[b] - 1 - 2 * t) * st[time_axis] : i;
    if (x.dtype() == DType::String) y.strings()[i] = x.strings()[src];
    else std::memcpy(static_cast<uint8_t*>(y.raw()) + i * es, static_cast<const uint8_t*>(x.raw()) + src * es, es);
  }
  return {std::move(y)};
}

// ---- MaxUnpool ----

// Scatters X into zeros at the flat positions I, which index the shape MaxPool's input had:
// (in - 1) * stride - pads + kernel per spatial axis. An output_shape input makes the output
// larger, the unpooled block sitting at its origin (as in the ONNX reference).
Tensors ref_MaxUnpool(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  ctx.require(x.rank() >= 3, "X must have rank >= 3 (N, C, spatial...), got " + shape_str(x.shape()));
  ctx.require(is_float(x.dtype()), "X must be a float tensor");
  ctx.require(ind.dtype() == DType::Int64 && ind.shape() == x.shape(), "I must be int64 with X's shape");
  const size_t n = static_cast<size_t>(x.rank() - 2);
  ctx.require(ctx.attrs().has("kernel_shape"), "the kernel_shape attribute is required");
  const std::vector<int64_t> kernel = ctx.attrs().get_ints("kernel_shape");
  const std::vector<int64_t> strides = ctx.attrs().get_ints("strides", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> pads = ctx.attrs().get_ints("pads", std::vector<int64_t>(2 * n, 0));
  ctx.require(kernel.size() == n && strides.size() == n && pads.size() == 2 * n,
              "kernel_shape, strides and pads must have one entry per spatial axis (pads two)");
  constexpr int64_t kMaxAttr = int64_t{1} << 32;
  Shape inferred(x.shape().begin(), x.shape().begin() + 2);
  for (size_t d = 0; d < n; ++d) {
    for (int64_t v : {kernel[d], strides[d], pads[d], pads[d + n]})
      ctx.require(v >= 0 && v <= kMaxAttr, "kernel_shape, strides and pads must be in [0, 2^32]");
    const int64_t in = x.dim(static_cast<int>(d + 2));
    const int64_t span = in == 0 ? 0 : checked_add(checked_mul(in - 1, strides[d], "unpooled size"), kernel[d], "unpooled size");
    const int64_t size = span - pads[d] - pads[d + n];
    ctx.require(size >= 0, "the unpooled size of spatial axis " + std::to_string(d) + " is negative");
    inferred.push_back(size);
  }
  Shape out_shape = inferred;
  if (ctx.has_input(2)) {
    out_shape = ctx.in(2).to_int64s();
    ctx.require(out_shape.size() == inferred.size(), "output_shape must have one entry per dim of X");
    for (size_t d = 0; d < out_shape.size(); ++d)
      ctx.require(out_shape[d] >= inferred[d] && (d >= 2 || out_shape[d] == inferred[d]),
                  "output_shape " + shape_str(out_shape) + " is smaller than the unpooled shape " + shape_str(inferred));
  }
  Tensor y(x.dtype(), out_shape);
  const int64_t limit = checked_numel(inferred, "unpooled shape");
  const Shape out_st = strides_of(out_shape);
  const int64_t* I = ind.data<int64_t>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    ctx.require(I[i] >= 0 && I[i] < limit, "index " + std::to_string(I[i]) + " is out of range for " + shape_str(inferred));
    int64_t rest = I[i], off = 0;  // I[i] as coordinates in `inferred`, placed in the output
    for (size_t d = inferred.size(); d-- > 0; rest /= inferred[d]) off += rest % inferred[d] * out_st[d];
    y.set_double(off, x.at_double(i));
  }
  return {std::move(y)};
}

// ---- MeanVarianceNormalization ----

// Y = (X - mean) / (std + 1e-9), mean and (population) std taken over `axes`.
Tensors ref_MeanVarianceNormalization(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  ctx.require(is_float(x.dtype()), "X must be a float tensor");
  std::vector<bool> reduced(static_cast<size_t>(x.rank()), false);
  for (int64_t a : ctx.attrs().get_ints("axes", {0, 2, 3})) reduced[normalize_axis(ctx, a, x.rank())] = true;
  // group[i]: which normalisation group element i belongs to (its index over the kept dims).
  Shape kept = x.shape();
  for (size_t d = 0; d < kept.size(); ++d)
    if (reduced[d]) kept[d] = 1;
  BroadcastMap group(kept, x.shape());
  const int64_t groups = checked_numel(kept, "MVN groups");
  std::vector<double> sum(static_cast<size_t>(groups), 0.0), sq(static_cast<size_t>(groups), 0.0);
  std::vector<int64_t> cnt(static_cast<size_t>(groups), 0);
  const std::vector<double> v = load_doubles(x);
  for (int64_t i = 0; i < x.numel(); ++i) { sum[group(i)] += v[i]; ++cnt[group(i)]; }
  for (int64_t g = 0; g < groups; ++g) sum[g] = cnt[g] ? sum[g] / static_cast<double>(cnt[g]) : 0;  // now the mean
  for (int64_t i = 0; i < x.numel(); ++i) sq[group(i)] += (v[i] - sum[group(i)]) * (v[i] - sum[group(i)]);
  Tensor y(x.dtype(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t g = group(i);
    const double stddev = std::sqrt(sq[g] / static_cast<double>(cnt[g]));
    y.set_double(i, (v[i] - sum[g]) / (stddev + 1e-9));
  }
  return {std::move(y)};
}

}  // namespace nnc
