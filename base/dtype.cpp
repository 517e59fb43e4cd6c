// DType names and sizes.
#include "base/dtype.h"
#include "base/error.h"

namespace asyndgan {

size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::bf16: return 2;
    case DType::f16: return 2;
    case DType::u8: return 1;
    case DType::i32: return 4;
    case DType::i64: return 8;
  }
  throw DTypeError(msg("dtype_size: unknown dtype code ", static_cast<int>(dt)));
}

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::u8: return "u8";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
  }
  return "?";
}

DType dtype_from_name(const std::string& name) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::u8, DType::i32, DType::i64})
    if (name == dtype_name(dt)) return dt;
  throw DTypeError(msg("unknown dtype '", name, "': expected one of f32, f64, bf16, f16, u8, i32, i64"));
}

bool is_floating(DType dt) {
  return dt == DType::f32 || dt == DType::f64 || dt == DType::bf16 || dt == DType::f16;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace asyndgan
