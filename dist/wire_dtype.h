// The element type floating-point tensors cross the wire in (dist.wire_dtype): f32 for exactness, bf16 (the
// default of a deployment: half the bytes, round to nearest even) or f16. Condition maps always cross as u8.
#pragma once
#include <cstdint>
#include <string_view>
#include "base/dtype.h"

namespace asyndgan::dist {

enum class WireDtype : uint8_t { f32 = 0, bf16 = 1, f16 = 2 };

WireDtype parse_wire_dtype(std::string_view name);  // "fp32"/"f32", "bf16", "fp16"/"f16"; ValueError otherwise
const char* wire_dtype_name(WireDtype w);           // "fp32", "bf16", "fp16"
DType wire_storage(WireDtype w);                    // the engine dtype holding it: f32, bf16, f16

}  // namespace asyndgan::dist
