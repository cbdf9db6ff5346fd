#include "tools/svg_plot.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "ir/error.h"

namespace nnc {

namespace {

// Layout of one chart, in pixels; the charts are stacked kChartHeight apart.
constexpr double kWidth = 720, kChartHeight = 360;
constexpr double kLeft = 80, kRight = 170, kTop = 40, kBottom = 56;  // the plot area's margins; the legend sits right
// Values are clamped to this magnitude so that ranges and tick arithmetic cannot overflow.
constexpr double kMaxMagnitude = 1e300;

// Tableau 10, then hues spaced by the golden angle for any further series.
std::string colour(size_t i) {
  static const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  constexpr size_t kN = sizeof(kPalette) / sizeof(kPalette[0]);
  if (i < kN) return kPalette[i];
  return "hsl(" + std::to_string(static_cast<int>(std::fmod(double(i) * 137.508, 360.0))) + ",65%,45%)";
}

std::string escape_xml(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// std::to_chars rather than printf: SVG needs '.' as the decimal point whatever the C locale says.
std::string format_fixed(double v, int decimals) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v + 0.0, std::chars_format::fixed, decimals);  // + 0.0: no "-0"
  return r.ec == std::errc() ? std::string(buf, r.ptr) : "0";
}

std::string format_general(double v, int precision) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v + 0.0, std::chars_format::general, precision);
  return r.ec == std::errc() ? std::string(buf, r.ptr) : "0";
}

std::string px(double v) { return format_fixed(v, 2); }

// 1, 2 or 5 times a power of ten, near span / target_ticks.
double nice_step(double span, double target_ticks) {
  const double raw = span / target_ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
}

struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  std::vector<std::string> labels;
};

// The y axis: the finite values' range widened to whole tick steps; never an empty range, so
// nothing divides by zero.
Axis y_axis(const Chart& chart) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series& s : chart.series)
    for (double v : s.values)
      if (std::isfinite(v)) {
        v = std::clamp(v, -kMaxMagnitude, kMaxMagnitude);
        lo = std::min(lo, v), hi = std::max(hi, v);
      }
  if (lo > hi) lo = 0, hi = 1;  // no data
  // A constant series (or one whose spread is lost in rounding) gets a span around its value.
  if (!(hi - lo > std::max(std::fabs(lo), std::fabs(hi)) * 1e-12 && hi - lo > 1e-200)) {
    double d = std::max(std::fabs(lo), std::fabs(hi)) * 0.1;
    if (!(d > 1e-200)) d = 1;
    lo -= d, hi += d;
  }
  Axis a;
  const double step = nice_step(hi - lo, 5);
  const double first = std::floor(lo / step), last = std::ceil(hi / step);
  a.lo = first * step, a.hi = last * step;
  const double top = std::max(std::fabs(a.lo), std::fabs(a.hi));
  const bool use_fixed = step >= 1e-4 && top < 1e7;
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step))));
  // Enough significant digits to tell neighbouring ticks apart.
  const int digits = std::clamp(static_cast<int>(std::ceil(std::log10(top / step))) + 1, 1, 17);
  for (double k = first; k <= last && a.ticks.size() < 50; ++k) {
    const double v = k * step;
    a.ticks.push_back(v);
    a.labels.push_back(use_fixed ? format_fixed(v, decimals) : format_general(v, digits));
  }
  return a;
}

// The x axis: epochs 1..n (a single epoch sits in the middle), ticks at 1 and at whole steps.
Axis x_axis(size_t n) {
  Axis a;
  if (n <= 1) {
    a.lo = 0, a.hi = 2;
    a.ticks = {1};
  } else {
    a.lo = 1, a.hi = double(n);
    const double step = std::max(1.0, nice_step(double(n - 1), 6));
    a.ticks.push_back(1);
    for (double v = step; v <= a.hi; v += step)
      if (v > 1) a.ticks.push_back(v);
  }
  for (double v : a.ticks) a.labels.push_back(format_fixed(v, 0));
  return a;
}

void render_chart(std::string& out, const Chart& chart, double offset) {
  const double x0 = kLeft, x1 = kWidth - kRight;
  const double y0 = offset + kTop, y1 = offset + kChartHeight - kBottom;  // y0 is the top
  size_t n = 0;
  bool any_data = false;
  for (const Series& s : chart.series) {
    n = std::max(n, s.values.size());
    for (double v : s.values) any_data = any_data || std::isfinite(v);
  }
  const Axis xa = x_axis(n), ya = y_axis(chart);
  auto sx = [&](double x) { return x0 + (x - xa.lo) / (xa.hi - xa.lo) * (x1 - x0); };
  auto sy = [&](double y) {
    y = std::clamp(y, -kMaxMagnitude, kMaxMagnitude);
    return y1 - (y - ya.lo) / (ya.hi - ya.lo) * (y1 - y0);
  };

  out += "<g>\n";
  out += "<text x=\"" + px(kWidth / 2) + "\" y=\"" + px(offset + 24) +
         "\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">" + escape_xml(chart.title) + "</text>\n";
  // Grid lines and y tick labels.
  for (size_t i = 0; i < ya.ticks.size(); ++i) {
    const std::string y = px(sy(ya.ticks[i]));
    out += "<line x1=\"" + px(x0) + "\" y1=\"" + y + "\" x2=\"" + px(x1) + "\" y2=\"" + y + "\" stroke=\"#e0e0e0\"/>\n";
    out += "<text x=\"" + px(x0 - 6) + "\" y=\"" + y + "\" text-anchor=\"end\" dominant-baseline=\"middle\">" +
           ya.labels[i] + "</text>\n";
  }
  for (size_t i = 0; i < xa.ticks.size(); ++i) {
    const std::string x = px(sx(xa.ticks[i]));
    out += "<line x1=\"" + x + "\" y1=\"" + px(y1) + "\" x2=\"" + x + "\" y2=\"" + px(y1 + 5) + "\" stroke=\"#000\"/>\n";
    out += "<text x=\"" + x + "\" y=\"" + px(y1 + 18) + "\" text-anchor=\"middle\">" + xa.labels[i] + "</text>\n";
  }
  // Axes.
  out += "<path fill=\"none\" stroke=\"#000\" d=\"M" + px(x0) + " " + px(y0) + " V" + px(y1) + " H" + px(x1) + "\"/>\n";
  out += "<text x=\"" + px((x0 + x1) / 2) + "\" y=\"" + px(y1 + 40) + "\" text-anchor=\"middle\">" +
         escape_xml(chart.x_label) + "</text>\n";
  out += "<text transform=\"translate(" + px(20) + "," + px((y0 + y1) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape_xml(chart.y_label) + "</text>\n";
  if (!any_data)
    out += "<text x=\"" + px((x0 + x1) / 2) + "\" y=\"" + px((y0 + y1) / 2) +
           "\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n";

  // One polyline per series over its finite values; a lone point also gets a dot, since a
  // one-point polyline draws nothing.
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    const std::string c = colour(i);
    std::string points;
    size_t count = 0;
    double last_x = 0, last_y = 0;
    for (size_t j = 0; j < s.values.size(); ++j) {
      if (!std::isfinite(s.values[j])) continue;
      last_x = sx(double(j + 1)), last_y = sy(s.values[j]);
      points += (count++ ? " " : "") + px(last_x) + "," + px(last_y);
    }
    out += "<polyline fill=\"none\" stroke=\"" + c + "\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"" +
           points + "\"><title>" + escape_xml(s.name) + "</title></polyline>\n";
    if (count == 1)
      out += "<circle cx=\"" + px(last_x) + "\" cy=\"" + px(last_y) + "\" r=\"3\" fill=\"" + c + "\"/>\n";
    // Legend entry.
    const double ly = y0 + 10 + 20 * double(i);
    out += "<line x1=\"" + px(x1 + 16) + "\" y1=\"" + px(ly) + "\" x2=\"" + px(x1 + 40) + "\" y2=\"" + px(ly) +
           "\" stroke=\"" + c + "\" stroke-width=\"2\"/>\n";
    out += "<text x=\"" + px(x1 + 46) + "\" y=\"" + px(ly) + "\" dominant-baseline=\"middle\">" + escape_xml(s.name) +
           "</text>\n";
  }
  out += "</g>\n";
}

}  // namespace

std::string render_svg(const std::vector<Chart>& charts) {
  const double height = kChartHeight * double(charts.size());
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + format_fixed(kWidth, 0) + "\" height=\"" +
         format_fixed(height, 0) + "\" viewBox=\"0 0 " + format_fixed(kWidth, 0) + " " + format_fixed(height, 0) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  for (size_t i = 0; i < charts.size(); ++i) render_chart(out, charts[i], kChartHeight * double(i));
  out += "</svg>";
  return out;
}

void write_svg(const std::string& path, const std::vector<Chart>& charts, bool overwrite) {
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec))
    throw Error("'" + path + "' already exists (pass overwrite to replace it)", ErrorKind::Runtime);
  const std::string svg = render_svg(charts) + "\n";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot open '" + path + "' for writing", ErrorKind::Runtime);
  out.write(svg.data(), static_cast<std::streamsize>(svg.size()));
  out.close();
  if (!out) throw Error("cannot write '" + path + "'", ErrorKind::Runtime);
}

}  // namespace nnc
