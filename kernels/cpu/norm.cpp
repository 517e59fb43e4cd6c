// Normalization kernels. Each plane's sums are accumulated by one thread in order, so the statistics do not
// depend on the thread count; elementwise passes parallelize over planes and elements.
#include "kernels/cpu/norm.h"

namespace asyndgan::kern::cpu {

constexpr int64_t kParallelMin = 1 << 15;

template <class T> void plane_sums(const T* x, int64_t planes, int64_t size, double* sum) {
#pragma omp parallel for if (planes * size > kParallelMin) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const T* a = x + p * size;
    double s = 0;
    for (int64_t i = 0; i < size; ++i) s += static_cast<double>(a[i]);
    sum[p] = s;
  }
}

template <class T> void plane_sq_dev(const T* x, int64_t planes, int64_t size, const double* center, double* sq) {
#pragma omp parallel for if (planes * size > kParallelMin) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const T* a = x + p * size;
    const double c = center[p];
    double s = 0;
    for (int64_t i = 0; i < size; ++i) {
      const double d = static_cast<double>(a[i]) - c;
      s += d * d;
    }
    sq[p] = s;
  }
}

template <class T> void plane_grad_sums(const T* g, const T* x, int64_t planes, int64_t size, const double* center,
                                        double* sum_g, double* sum_gx) {
#pragma omp parallel for if (planes * size > kParallelMin) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const T* gp = g + p * size;
    const T* xp = x + p * size;
    const double c = center[p];
    double sg = 0, sgx = 0;
    for (int64_t i = 0; i < size; ++i) {
      const double gv = static_cast<double>(gp[i]);
      sg += gv;
      sgx += gv * (static_cast<double>(xp[i]) - c);
    }
    sum_g[p] = sg;
    sum_gx[p] = sgx;
  }
}

template <class T> void plane_normalize(const T* x, int64_t planes, int64_t size, const double* center,
                                        const double* scale, const double* shift, T* out) {
#pragma omp parallel for collapse(2) if (planes * size > kParallelMin) schedule(static)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < size; ++i) {
      const int64_t k = p * size + i;
      out[k] = static_cast<T>((static_cast<double>(x[k]) - center[p]) * scale[p] + shift[p]);
    }
}

template <class T> void plane_norm_backward(const T* g, const T* x, int64_t planes, int64_t size, const double* center,
                                            const double* g_scale, const double* x_scale, const double* shift, T* out) {
#pragma omp parallel for collapse(2) if (planes * size > kParallelMin) schedule(static)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < size; ++i) {
      const int64_t k = p * size + i;
      out[k] = static_cast<T>(static_cast<double>(g[k]) * g_scale[p] +
                              (static_cast<double>(x[k]) - center[p]) * x_scale[p] + shift[p]);
    }
}

#define ASYNDGAN_INSTANTIATE(T)                                                                                   \
  template void plane_sums<T>(const T*, int64_t, int64_t, double*);                                               \
  template void plane_sq_dev<T>(const T*, int64_t, int64_t, const double*, double*);                              \
  template void plane_grad_sums<T>(const T*, const T*, int64_t, int64_t, const double*, double*, double*);        \
  template void plane_normalize<T>(const T*, int64_t, int64_t, const double*, const double*, const double*, T*); \
  template void plane_norm_backward<T>(const T*, const T*, int64_t, int64_t, const double*, const double*,        \
                                       const double*, const double*, T*);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
