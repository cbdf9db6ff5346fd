// nnc::Error is the one exception type thrown inside nnc. The CLI and the C API turn
// it into an exit code / status and one clear line (DESIGN.md principle 8).
#pragma once
#include <stdexcept>
#include <string>

namespace nnc {

enum class ErrorKind {
  InvalidModel,  // the model (or a tensor file) is malformed or unsupported: exit code 2
  Runtime,       // a failure while running: exit code 3
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, ErrorKind kind = ErrorKind::InvalidModel)
      : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Throws an InvalidModel error when cond is false.
inline void check(bool cond, const std::string& what) {
  if (!cond) throw Error(what);
}

}  // namespace nnc
