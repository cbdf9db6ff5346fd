// nnc new KIND -o FILE [--input 1x28x28] [--classes 10] [--hidden 300,100] [--width 32] [--blocks 2]
//                      [--dropout 0] [--init he-normal] [--seed 0] [--overwrite]:
// writes a freshly initialised starter classifier (frontend/starter_models.h) as ONNX and
// prints one line saying what it is.
#include <cctype>
#include <cstdio>
#include <iostream>

#include "frontend/onnx.h"
#include "frontend/starter_models.h"
#include "tools/commands.h"

namespace nnc::cli {
namespace {

struct NewOpts {
  std::string kind, output;
  std::string input = "1x28x28", hidden = "300,100", init = "he-normal";
  int64_t classes = 10, width = 32, blocks = 2;
  double dropout = 0;
  uint64_t seed = 0;
  bool overwrite = false;
};

// Positive integers separated by `sep` ("1x28x28", "300,100"); an empty text gives none.
// Messages leave out the option's name: CLI11 puts it in front ("--input: expects ...").
std::vector<int64_t> parse_sizes(const std::string& text, char sep, const std::string& example) {
  const std::string usage = "expects positive integers separated by '" + std::string(1, sep) + "' like " +
                            example + ", got '" + text + "'";
  std::vector<int64_t> sizes;
  if (text.empty()) return sizes;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(sep, start);
    std::string item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    bool digits = !item.empty() && item.size() <= 15;  // 15 digits: no overflow, far beyond any real size
    for (char c : item) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits || std::stoll(item) == 0) throw Error(usage);
    sizes.push_back(std::stoll(item));
    if (end == std::string::npos) return sizes;
    start = end + 1;
  }
}

Shape parse_input(const std::string& text) {
  Shape s = parse_sizes(text, 'x', "1x28x28 (channels x height x width)");
  if (s.empty()) throw Error("needs at least one dim, like 1x28x28");
  return s;
}

std::vector<int64_t> parse_hidden(const std::string& text) { return parse_sizes(text, ',', "300,100"); }

double parse_dropout(const std::string& text) {
  size_t used = 0;
  double ratio = -1;
  try {
    ratio = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || !(ratio >= 0 && ratio < 1))
    throw Error("expects a ratio in [0, 1), like 0.5, got '" + text + "'");
  return ratio;
}

// A CLI11 check from a parser that throws: parse errors become usage errors (exit code 1).
template <class Parse>
std::function<std::string(const std::string&)> valid_if_parses(Parse parse) {
  return [parse](const std::string& text) {
    try {
      parse(text);
      return std::string();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
}

std::string join(const std::vector<int64_t>& v, const std::string& sep) {
  std::string out;
  for (int64_t x : v) out += (out.empty() ? "" : sep) + std::to_string(x);
  return out;
}

std::string with_commas(int64_t n) {  // 266610 -> "266,610"
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "mlp 784-300-100-10", "cnn 1x28x28, 32-64 channels, 10 classes", ...
std::string describe(const std::string& kind, const StarterOptions& s) {
  int64_t features = 1;
  for (int64_t d : s.input) features *= d;
  std::string text = kind + " ";
  if (kind == "mlp") {
    std::vector<int64_t> widths{features};
    widths.insert(widths.end(), s.hidden.begin(), s.hidden.end());
    widths.push_back(s.classes);
    text += join(widths, "-");
  } else if (kind == "glu-mlp") {
    text += std::to_string(features) + "-swiglu(" + std::to_string(s.hidden.empty() ? 256 : s.hidden[0]) + ")-" +
            std::to_string(s.classes);
  } else {
    text += join(s.input, "x") + ", " + std::to_string(s.width) + "-" + std::to_string(2 * s.width) + " channels";
    if (kind == "resnet") text += ", " + std::to_string(s.blocks) + " blocks per stage";
    text += ", " + std::to_string(s.classes) + " classes";
  }
  if (s.dropout > 0) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%g", s.dropout);
    text += std::string(", dropout ") + ratio;
  }
  return text;
}

}  // namespace

CommandFn add_new_command(CLI::App& app) {
  auto o = std::make_shared<NewOpts>();
  CLI::App* sub = app.add_subcommand("new", "Write a freshly initialised starter model (mlp, cnn, resnet, glu-mlp) as ONNX");
  sub->add_option("KIND", o->kind, "Model kind")->required()->check(CLI::IsMember(starter_model_kinds()));
  sub->add_option("-o,--output", o->output, "Output ONNX file")->required();
  sub->add_option("--input", o->input, "Per-sample input shape, CxHxW (mlp and glu-mlp flatten it)")
      ->capture_default_str()
      ->check(valid_if_parses(parse_input));
  sub->add_option("--classes", o->classes, "Number of classes (the logits' width)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--hidden", o->hidden, "mlp: hidden layer widths; glu-mlp: the first is the gated width")
      ->capture_default_str()
      ->check(valid_if_parses(parse_hidden));
  sub->add_option("--width", o->width, "cnn, resnet: channels of the first stage (the second has twice as many)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--blocks", o->blocks, "resnet: residual blocks per stage")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--dropout", o->dropout, "Dropout ratio before the classifier (and between MLP layers); 0 = none")
      ->capture_default_str()
      ->check(valid_if_parses(parse_dropout));
  sub->add_option("--init", o->init, "Weight initialiser: he-normal, he-uniform, xavier-*, lecun-*")
      ->capture_default_str()
      ->check(valid_if_parses(parse_init_scheme));
  sub->add_option("--seed", o->seed, "Seed of the weight initialiser")->capture_default_str();
  // --force too: export_onnx_file's error message names it.
  sub->add_flag("--overwrite,--force", o->overwrite, "Replace FILE if it exists");
  return [o]() {
    StarterOptions s;
    s.input = parse_input(o->input);
    s.classes = o->classes;
    s.hidden = parse_hidden(o->hidden);
    s.width = o->width;
    s.blocks = o->blocks;
    s.dropout = o->dropout;
    s.init = parse_init_scheme(o->init);
    s.seed = o->seed;
    std::unique_ptr<Graph> g;
    try {
      g = build_starter_model(o->kind, s);
    } catch (const Error& e) {
      // Options the model cannot be built with (a cnn on a 1-D input, ...) are usage errors.
      std::cerr << "nnc new: error: " << e.what() << "\n";
      return static_cast<int>(kUsage);
    }
    export_onnx_file(*g, o->output, o->overwrite);
    std::cout << "wrote " << o->output << ": " << describe(o->kind, s) << ", " << with_commas(count_parameters(*g))
              << " parameters, " << init_scheme_name(s.init) << " init\n";
    return static_cast<int>(kOk);
  };
}

}  // namespace nnc::cli
