// Names of the wire dtypes, and the engine dtype each is stored in.
#include "dist/wire_dtype.h"
#include <string>
#include "base/error.h"

namespace asyndgan::dist {

WireDtype parse_wire_dtype(std::string_view name) {
  if (name == "fp32" || name == "f32") return WireDtype::f32;
  if (name == "bf16") return WireDtype::bf16;
  if (name == "fp16" || name == "f16") return WireDtype::f16;
  throw ValueError(msg("wire dtype '", std::string(name), "' is not one of fp32, bf16, fp16"));
}

const char* wire_dtype_name(WireDtype w) {
  switch (w) {
    case WireDtype::f32: return "fp32";
    case WireDtype::bf16: return "bf16";
    case WireDtype::f16: return "fp16";
  }
  return "unknown";
}

DType wire_storage(WireDtype w) {
  switch (w) {
    case WireDtype::f32: return DType::f32;
    case WireDtype::bf16: return DType::bf16;
    case WireDtype::f16: return DType::f16;
  }
  throw ValueError(msg("wire dtype code ", int(static_cast<uint8_t>(w)), " is unknown"));
}

}  // namespace asyndgan::dist
