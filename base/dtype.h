// Element types a tensor can hold; kernels exist for f32 and f64, the others are storage and conversion types.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace asyndgan {

enum class DType : uint8_t { f32 = 0, f64 = 1, bf16 = 2, f16 = 3, u8 = 4, i32 = 5, i64 = 6 };

size_t dtype_size(DType dt);
const char* dtype_name(DType dt);       // "f32", "bf16", ...
DType dtype_from_name(const std::string& name);  // inverse of dtype_name; throws DTypeError
bool is_floating(DType dt);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };

}  // namespace asyndgan
