// Strided copies and dtype conversions on the host (the engine's contiguous(), to(dtype) and fill_()).
#include "kernels/cpu/copy.h"
#include <cstring>
#include <vector>
#include "base/error.h"
#include "kernels/common/convert.h"

namespace asyndgan::kern::cpu {
namespace {

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
  with_storage_type(src_dtype, [&](auto s_tag) {
    using S = decltype(s_tag);
    with_storage_type(dst_dtype, [&](auto d_tag) {
      using D = decltype(d_tag);
      const S* s = static_cast<const S*>(src);
      D* d = static_cast<D*>(dst);
      for_each_strided(shape, strides, ndim, [&](int64_t so, int64_t di) { convert_element(s + so, d + di); });
    });
  });
}

void scatter_strided(const void* src, const int64_t* shape, const int64_t* strides, int ndim, void* dst,
                     DType dtype) {
  with_storage_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    for_each_strided(shape, strides, ndim, [&](int64_t doff, int64_t si) { d[doff] = s[si]; });
  });
}

void fill(void* dst, DType dtype, int64_t n, double value) {
  with_storage_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    T v;
    store_from_double(&v, value);
    T* d = static_cast<T*>(dst);
#pragma omp parallel for if (n > (1 << 16)) schedule(static)
    for (int64_t i = 0; i < n; ++i) d[i] = v;
  });
}

}  // namespace asyndgan::kern::cpu
