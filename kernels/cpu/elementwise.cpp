// Elementwise kernels and the deterministic sum, parallel with OpenMP over large buffers.
#include "kernels/cpu/elementwise.h"
#include <cstddef>
#include <vector>
#include "kernels/common/elementwise_math.h"

namespace asyndgan::kern::cpu {

constexpr int64_t kParallelMin = 1 << 15;

template <class T> void add(const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
template <class T> void sub(const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] - b[i];
}
template <class T> void mul(const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}
template <class T> void axpby(T alpha, const T* a, T beta, const T* b, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = axpby_value(alpha, a[i], beta, b[i]);
}
template <class T> void affine(const T* a, T scale, T shift, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = affine_value(a[i], scale, shift);
}
template <class T> void axpy_inplace(T* a, T alpha, const T* b, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = axpy_value(a[i], alpha, b[i]);
}

// Fixed-size chunks summed independently, then combined in order: the result does not depend on threads.
template <class T> double sum(const T* a, int64_t n) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
    double s = 0;
    for (int64_t i = c * kChunk; i < end; ++i) s += static_cast<double>(a[i]);
    partial[static_cast<size_t>(c)] = s;
  }
  double s = 0;
  for (double p : partial) s += p;
  return s;
}

#define ASYNDGAN_INSTANTIATE(T)                                     \
  template void add<T>(const T*, const T*, T*, int64_t);           \
  template void sub<T>(const T*, const T*, T*, int64_t);           \
  template void mul<T>(const T*, const T*, T*, int64_t);           \
  template void axpby<T>(T, const T*, T, const T*, T*, int64_t);   \
  template void affine<T>(const T*, T, T, T*, int64_t);            \
  template void axpy_inplace<T>(T*, T, const T*, int64_t);         \
  template double sum<T>(const T*, int64_t);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
