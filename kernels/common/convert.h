// Element conversion between every storage dtype, one definition for the CPU and CUDA copy kernels: through
// double, except the exact same-type and integer->integer paths; bf16/f16 round to nearest even (half.h).
#pragma once
#include <cstdint>
#include <type_traits>
#include "base/dtype.h"
#include "base/half.h"

namespace asyndgan::kern {

// bf16 and f16 elements as their bits.
struct bf16_t { uint16_t bits; };
struct f16_t { uint16_t bits; };

template <class T> ASYNDGAN_HD double load_as_double(const T* p) { return static_cast<double>(*p); }
template <> ASYNDGAN_HD double load_as_double(const bf16_t* p) { return bf16_to_float(p->bits); }
template <> ASYNDGAN_HD double load_as_double(const f16_t* p) { return f16_to_float(p->bits); }
template <class T> ASYNDGAN_HD void store_from_double(T* p, double v) { *p = static_cast<T>(v); }
template <> ASYNDGAN_HD void store_from_double(bf16_t* p, double v) { p->bits = float_to_bf16(static_cast<float>(v)); }
template <> ASYNDGAN_HD void store_from_double(f16_t* p, double v) { p->bits = float_to_f16(static_cast<float>(v)); }

template <class S, class D> ASYNDGAN_HD void convert_element(const S* s, D* d) {
  if constexpr (std::is_same_v<S, D>) *d = *s;
  else if constexpr (std::is_integral_v<S> && std::is_integral_v<D>) *d = static_cast<D>(*s);
  else store_from_double(d, load_as_double(s));
}

// Calls f(T{}) with the element type of any storage dtype.
template <class F> void with_storage_type(DType dt, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::bf16: return f(bf16_t{});
    case DType::f16: return f(f16_t{});
    case DType::u8: return f(uint8_t{});
    case DType::i32: return f(int32_t{});
    case DType::i64: return f(int64_t{});
  }
}

}  // namespace asyndgan::kern
