// Typed exceptions thrown by the engine; every message names the op (or file) and the offending values.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <cstdint>

namespace asyndgan {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ShapeError : Error { using Error::Error; };    // incompatible shapes
struct DTypeError : Error { using Error::Error; };    // unsupported or mismatched dtype
struct DeviceError : Error { using Error::Error; };   // wrong, mismatched or unavailable device
struct ValueError : Error { using Error::Error; };    // a bad argument value
struct FormatError : Error { using Error::Error; };   // a corrupt or truncated file or message
struct IOError : Error { using Error::Error; };       // the operating system refused a read or write
struct NonFiniteError : Error { using Error::Error; };  // a NaN or infinity where training needs finite numbers

std::string shape_str(const std::vector<int64_t>& shape);

// Builds a message from streamable parts: throw ShapeError(msg("conv2d: input ", shape_str(s))).
template <class... Parts>
std::string msg(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

}  // namespace asyndgan
