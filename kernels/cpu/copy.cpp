// Strided copies and dtype conversions on the host (the engine's contiguous(), to(dtype) and fill_()).
#include "kernels/cpu/copy.h"
#include <cstring>
#include <vector>
#include "engine/error.h"
#include "kernels/common/half.h"

namespace asyndgan::kern::cpu {
namespace {

struct bf16_t { uint16_t bits; };
struct f16_t { uint16_t bits; };

template <class T> double load(const T* p) { return static_cast<double>(*p); }
template <> double load(const bf16_t* p) { return bf16_to_float(p->bits); }
template <> double load(const f16_t* p) { return f16_to_float(p->bits); }
template <class T> void store(T* p, double v) { *p = static_cast<T>(v); }
template <> void store(bf16_t* p, double v) { p->bits = float_to_bf16(static_cast<float>(v)); }
template <> void store(f16_t* p, double v) { p->bits = float_to_f16(static_cast<float>(v)); }

// Converts through double except for the exact same-type and integer->integer paths.
template <class S, class D> void convert(const S* s, D* d) {
  if constexpr (std::is_same_v<S, D>) *d = *s;
  else if constexpr (std::is_integral_v<S> && std::is_integral_v<D>) *d = static_cast<D>(*s);
  else store(d, load(s));
}

template <class F> void with_type(DType dt, F&& f) {
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

// Visits every element of a strided view in row-major order, calling f(src_element_offset, linear_index).
template <class F> void for_each_strided(const int64_t* shape, const int64_t* strides, int ndim, F&& f) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  if (ndim == 0) { f(0, 0); return; }
  const int64_t inner = shape[ndim - 1], inner_stride = strides[ndim - 1];
  const int64_t outer = n / inner;
#pragma omp parallel for if (n > (1 << 16)) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    int64_t rem = o, base = 0;
    for (int d = ndim - 2; d >= 0; --d) {
      base += (rem % shape[d]) * strides[d];
      rem /= shape[d];
    }
    for (int64_t i = 0; i < inner; ++i) f(base + i * inner_stride, o * inner + i);
  }
}

}  // namespace

void copy_strided(const void* src, DType src_dtype, const int64_t* shape, const int64_t* strides, int ndim,
                  void* dst, DType dst_dtype) {
  with_type(src_dtype, [&](auto s_tag) {
    using S = decltype(s_tag);
    with_type(dst_dtype, [&](auto d_tag) {
      using D = decltype(d_tag);
      const S* s = static_cast<const S*>(src);
      D* d = static_cast<D*>(dst);
      for_each_strided(shape, strides, ndim, [&](int64_t so, int64_t di) { convert(s + so, d + di); });
    });
  });
}

void scatter_strided(const void* src, const int64_t* shape, const int64_t* strides, int ndim, void* dst,
                     DType dtype) {
  with_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    for_each_strided(shape, strides, ndim, [&](int64_t doff, int64_t si) { d[doff] = s[si]; });
  });
}

void fill(void* dst, DType dtype, int64_t n, double value) {
  with_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    T v;
    store(&v, value);
    T* d = static_cast<T*>(dst);
#pragma omp parallel for if (n > (1 << 16)) schedule(static)
    for (int64_t i = 0; i < n; ++i) d[i] = v;
  });
}

}  // namespace asyndgan::kern::cpu
