// Activation kernels: the per-element math of kernels/common/activation_math.h mapped over buffers with OpenMP.
#include "kernels/cpu/activation.h"
#include "kernels/common/activation_math.h"

namespace asyndgan::kern::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

template <class T, class F> void map1(const T* a, T* out, int64_t n, F f) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i]);
}
template <class T, class F> void map2(const T* a, const T* b, T* out, int64_t n, F f) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}

}  // namespace

template <class T> void relu_forward(const T* x, T* out, int64_t n) { map1(x, out, n, [](T v) { return relu_fwd(v); }); }
template <class T> void relu_backward(const T* g, const T* y, T* out, int64_t n) {
  map2(g, y, out, n, [](T gv, T yv) { return relu_bwd(gv, yv); });
}
template <class T> void leaky_relu_forward(const T* x, T slope, T* out, int64_t n) {
  map1(x, out, n, [slope](T v) { return leaky_relu_fwd(v, slope); });
}
template <class T> void leaky_relu_backward(const T* g, const T* x, T slope, T* out, int64_t n) {
  map2(g, x, out, n, [slope](T gv, T xv) { return leaky_relu_bwd(gv, xv, slope); });
}
template <class T> void tanh_forward(const T* x, T* out, int64_t n) { map1(x, out, n, [](T v) { return tanh_fwd(v); }); }
template <class T> void tanh_backward(const T* g, const T* y, T* out, int64_t n) {
  map2(g, y, out, n, [](T gv, T yv) { return tanh_bwd(gv, yv); });
}
template <class T> void sigmoid_forward(const T* x, T* out, int64_t n) {
  map1(x, out, n, [](T v) { return sigmoid_fwd(v); });
}
template <class T> void sigmoid_backward(const T* g, const T* y, T* out, int64_t n) {
  map2(g, y, out, n, [](T gv, T yv) { return sigmoid_bwd(gv, yv); });
}

// One Philox block gives the words of four consecutive elements, so the loop runs over blocks; each element's
// value depends only on (key, first, i), never on which thread computed it.
template <class T> void dropout_mask(PhiloxKey key, uint64_t first, double p, T scale, T* mask, int64_t n) {
  const int64_t blocks = (n + 3) / 4;
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const Philox4 words = philox_block(key, first + static_cast<uint64_t>(b));
    for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j)
      mask[4 * b + j] = dropout_keep(words.v[j], p) ? scale : T(0);
  }
}

#define ASYNDGAN_INSTANTIATE(T)                                                        \
  template void relu_forward<T>(const T*, T*, int64_t);                                \
  template void relu_backward<T>(const T*, const T*, T*, int64_t);                     \
  template void leaky_relu_forward<T>(const T*, T, T*, int64_t);                       \
  template void leaky_relu_backward<T>(const T*, const T*, T, T*, int64_t);            \
  template void tanh_forward<T>(const T*, T*, int64_t);                                \
  template void tanh_backward<T>(const T*, const T*, T*, int64_t);                     \
  template void sigmoid_forward<T>(const T*, T*, int64_t);                             \
  template void sigmoid_backward<T>(const T*, const T*, T*, int64_t);                  \
  template void dropout_mask<T>(PhiloxKey, uint64_t, double, T, T*, int64_t);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
