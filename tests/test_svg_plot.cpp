// The SVG training-curve writer: a well-formed document, one polyline per series with one
// point per finite value, escaped text, degenerate data without NaN/Inf, and no silent overwrite.
#include <catch2/catch.hpp>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "ir/error.h"
#include "tools/svg_plot.h"

using namespace nnc;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Polyline {
  std::string stroke;
  size_t points = 0;
};

std::string attribute(const std::string& element, const std::string& name) {
  const std::string key = " " + name + "=\"";
  size_t at = element.find(key);
  if (at == std::string::npos) return {};
  at += key.size();
  return element.substr(at, element.find('"', at) - at);
}

// Every <polyline> in the document: its stroke and how many "x,y" points it has.
std::vector<Polyline> polylines(const std::string& svg) {
  std::vector<Polyline> out;
  for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) {
    const std::string element = svg.substr(at, svg.find('>', at) - at);
    std::istringstream points(attribute(element, "points"));
    Polyline p{attribute(element, "stroke"), 0};
    for (std::string xy; points >> xy; ++p.points) {
      // Each point is two numbers separated by a comma.
      const size_t comma = xy.find(',');
      REQUIRE(comma != std::string::npos);
      CHECK(std::isfinite(std::stod(xy.substr(0, comma))));
      CHECK(std::isfinite(std::stod(xy.substr(comma + 1))));
    }
    out.push_back(p);
  }
  return out;
}

bool starts_as_svg(const std::string& s) {
  size_t at = 0;
  if (s.rfind("<?xml", 0) == 0) at = s.find("?>") + 2;
  while (at < s.size() && std::isspace(static_cast<unsigned char>(s[at]))) ++at;
  return s.compare(at, 4, "<svg") == 0;
}

bool ends_as_svg(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s.size() >= 6 && s.compare(s.size() - 6, 6, "</svg>") == 0;
}

// "nan" or "inf" not inside a word (SVG has "dominant-baseline"), as printf or to_chars would write them.
bool mentions_nan_or_inf(const std::string& s) {
  static const std::regex kBad("(^|[^a-z])(nan|inf)", std::regex::icase);
  return std::regex_search(s, kBad);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("training curves render as one SVG with a polyline per series") {
  std::vector<Chart> charts = {
      {"loss", "epoch", "loss", {{"train", {2.3, 1.1, 0.7, 0.5, 0.41}}, {"validation", {2.4, 1.3, 0.9, 0.8, 0.79}}}},
      {"accuracy", "epoch", "accuracy", {{"validation", {0.2, 0.55, 0.7, 0.78, 0.8}}}},
  };
  const std::string svg = render_svg(charts);
  CHECK(starts_as_svg(svg));
  CHECK(ends_as_svg(svg));
  CHECK(svg.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK_FALSE(mentions_nan_or_inf(svg));
  std::vector<Polyline> lines = polylines(svg);
  REQUIRE(lines.size() == 3);
  for (const Polyline& p : lines) CHECK(p.points == 5);
  // Series within a chart get distinct colours.
  CHECK(lines[0].stroke != lines[1].stroke);
  // Titles, axis labels and legend entries are all there.
  for (const char* text : {">loss<", ">accuracy<", ">epoch<", ">train<", ">validation<"})
    CHECK(svg.find(text) != std::string::npos);
}

TEST_CASE("many series each get their own colour") {
  Chart chart{"many", "epoch", "value", {}};
  for (int i = 0; i < 14; ++i) chart.series.push_back({"s" + std::to_string(i), {double(i), double(i + 1)}});
  std::vector<Polyline> lines = polylines(render_svg({chart}));
  REQUIRE(lines.size() == 14);
  std::set<std::string> strokes;
  for (const Polyline& p : lines) strokes.insert(p.stroke);
  CHECK(strokes.size() == 14);
}

TEST_CASE("NaN values are skipped") {
  const std::string svg = render_svg({{"loss", "epoch", "loss", {{"train", {1.0, kNaN, 0.5, kNaN}}}}});
  CHECK_FALSE(mentions_nan_or_inf(svg));
  std::vector<Polyline> lines = polylines(svg);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].points == 2);
}

TEST_CASE("text is XML-escaped") {
  const std::string svg = render_svg({{"a<b & c", "x<y", "p&q", {{"train <1> & \"co\"", {1, 2}}}}});
  CHECK(svg.find("a&lt;b &amp; c") != std::string::npos);
  CHECK(svg.find("x&lt;y") != std::string::npos);
  CHECK(svg.find("p&amp;q") != std::string::npos);
  CHECK(svg.find("train &lt;1&gt; &amp; &quot;co&quot;") != std::string::npos);
  CHECK(svg.find("a<b") == std::string::npos);
  CHECK(svg.find("& c") == std::string::npos);
}

TEST_CASE("degenerate data renders without NaN or Inf") {
  SECTION("a single point") {
    const std::string svg = render_svg({{"loss", "epoch", "loss", {{"train", {0.5}}}}});
    CHECK_FALSE(mentions_nan_or_inf(svg));
    std::vector<Polyline> lines = polylines(svg);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].points == 1);
    CHECK(svg.find("<circle") != std::string::npos);  // a lone point is still visible
  }
  SECTION("constant series, zero and non-zero") {
    const std::string svg =
        render_svg({{"c", "epoch", "v", {{"zeros", {0, 0, 0}}, {"ones", {1, 1, 1}}}},
                    {"d", "epoch", "v", {{"big", {1e300, 1e300}}}}});
    CHECK_FALSE(mentions_nan_or_inf(svg));
    std::vector<Polyline> lines = polylines(svg);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].points == 3);
    CHECK(lines[2].points == 2);
  }
  SECTION("all NaN, empty series, no series, no charts") {
    const std::string svg = render_svg({{"a", "epoch", "v", {{"gaps", {kNaN, kNaN}}, {"empty", {}}}},
                                        {"b", "epoch", "v", {}}});
    CHECK_FALSE(mentions_nan_or_inf(svg));
    std::vector<Polyline> lines = polylines(svg);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].points == 0);
    CHECK(lines[1].points == 0);
    const std::string none = render_svg({});
    CHECK(starts_as_svg(none));
    CHECK(ends_as_svg(none));
  }
  SECTION("extreme and infinite values") {
    const double inf = std::numeric_limits<double>::infinity();
    const std::string svg =
        render_svg({{"x", "epoch", "v", {{"wide", {-1.7e308, 1.7e308, inf, 1e-320, 0}}}}});
    CHECK_FALSE(mentions_nan_or_inf(svg));
    std::vector<Polyline> lines = polylines(svg);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].points == 4);
  }
}

TEST_CASE("write_svg writes the document and refuses to overwrite without the flag") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("nnc_svg_test_" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  const fs::path path = dir / "curves.svg";
  const std::vector<Chart> first = {{"loss", "epoch", "loss", {{"train", {1, 0.5}}}}};
  const std::vector<Chart> second = {{"accuracy", "epoch", "acc", {{"validation", {0.5, 0.9}}}}};

  write_svg(path.string(), first, false);
  const std::string written = read_file(path);
  CHECK(starts_as_svg(written));
  CHECK(ends_as_svg(written));
  CHECK(written.find(">loss<") != std::string::npos);

  CHECK_THROWS_AS(write_svg(path.string(), second, false), Error);
  CHECK_THROWS_WITH(write_svg(path.string(), second, false), Catch::Contains(path.string()));
  CHECK(read_file(path) == written);  // untouched

  write_svg(path.string(), second, true);
  CHECK(read_file(path).find(">accuracy<") != std::string::npos);

  CHECK_THROWS_AS(write_svg((dir / "no_such_dir" / "x.svg").string(), first, false), Error);
  fs::remove_all(dir);
}
