// A tiny SVG line-chart writer for training curves (loss, accuracy per epoch), no dependencies.
//
//   write_svg("curves.svg", {{"loss", "epoch", "loss", {{"train", train_loss}, {"validation", val_loss}}},
//                            {"accuracy", "epoch", "accuracy", {{"validation", val_acc}}}}, false);
#pragma once
#include <string>
#include <vector>

namespace nnc {

struct Series {
  std::string name;
  std::vector<double> values;  // one y value per x = 1..n (epochs); NaN and infinite values are skipped
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

// One SVG document with the charts stacked vertically, each with axes, tick labels, a legend
// and a distinct colour per series (one <polyline> per series, one point per finite value).
std::string render_svg(const std::vector<Chart>& charts);

// Writes render_svg(charts) to path. Throws nnc::Error when it cannot, and when the file
// already exists unless overwrite is true.
void write_svg(const std::string& path, const std::vector<Chart>& charts, bool overwrite);

}  // namespace nnc
