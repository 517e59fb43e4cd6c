// Loss kernels: the per-element math of kernels/common/loss_math.h over buffers, parallel with OpenMP.
#include "kernels/cpu/loss.h"
#include "kernels/common/loss_math.h"

namespace asyndgan::kern::cpu {

constexpr int64_t kParallelMin = 1 << 15;

template <class T> void l1_terms(const T* x, const T* y, const T* mask, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = l1_term(x[i], y[i], mask ? mask[i] : T(1));
}
template <class T> void l1_grad(const T* x, const T* y, const T* mask, T scale, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = l1_grad_term(x[i], y[i], mask ? mask[i] : T(1), scale);
}
template <class T> void squared_diff(const T* x, const T* y, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = squared_diff_term(x[i], y[i]);
}
template <class T> void bce_logits_terms(const T* x, const T* t, T* out, int64_t n) {
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = bce_logits_term(x[i], t[i]);
}
template <class T> void bce_logits_grad(const T* x, const T* t, T scale, T* out, int64_t n) {
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = scale * bce_logits_dx(x[i], t[i]);
}

#define ASYNDGAN_INSTANTIATE(T)                                                  \
  template void l1_terms<T>(const T*, const T*, const T*, T*, int64_t);          \
  template void l1_grad<T>(const T*, const T*, const T*, T, T*, int64_t);        \
  template void squared_diff<T>(const T*, const T*, T*, int64_t);                \
  template void bce_logits_terms<T>(const T*, const T*, T*, int64_t);            \
  template void bce_logits_grad<T>(const T*, const T*, T, T*, int64_t);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
