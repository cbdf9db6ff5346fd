#include "frontend/external_data.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "ir/error.h"

namespace nnc {

namespace fs = std::filesystem;

static std::string resolve_location(const std::string& location, const std::string& base_dir,
                                    const std::string& tensor) {
  std::string where = "tensor '" + tensor + "': external data '" + location + "'";
  if (base_dir.empty()) throw Error(where + " cannot be resolved: the model was not loaded from a file");
  fs::path rel(location);
  if (location.empty() || rel.is_absolute()) throw Error(where + " must be a relative path inside the model's folder");
  for (const auto& part : rel)
    if (part == "..") throw Error(where + " escapes the model's folder ('..' is not allowed)");
  std::error_code ec;
  fs::path base = fs::canonical(base_dir, ec);
  if (ec) throw Error("cannot resolve the model folder '" + base_dir + "'");
  fs::path full = fs::canonical(base / rel, ec);  // resolves symlinks
  if (ec) throw Error(where + " does not exist");
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end()) throw Error(where + " resolves outside the model's folder (through a symlink)");
  if (!fs::is_regular_file(full)) throw Error(where + " is not a regular file");
  return full.string();
}

std::vector<char> read_external_data(const onnx::TensorProto& p, const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      throw Error("tensor '" + p.name() + "': bad external data entry " + kv.key() + "='" + kv.value() + "'");
    }
  }
  std::string path = resolve_location(location, base_dir, p.name());
  auto size = static_cast<int64_t>(fs::file_size(path));
  if (offset < 0 || offset > size) throw Error("tensor '" + p.name() + "': external data offset out of range");
  if (length < 0) length = size - offset;
  if (length > size - offset) throw Error("tensor '" + p.name() + "': external data extends past the end of '" + location + "'");
  std::vector<char> bytes(static_cast<size_t>(length));
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) throw Error("tensor '" + p.name() + "': cannot read external data from '" + location + "'");
  return bytes;
}

}  // namespace nnc
