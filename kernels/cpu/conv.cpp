// im2col / col2im blocks, the GEMM wrapper and the bias helpers behind the CPU convolutions.
#include "kernels/cpu/conv.h"
#include "kernels/cpu/blas.h"
#include <algorithm>
#include <cstring>
#include <vector>
#include <omp.h>

namespace asyndgan::kern::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

// Window positions o in [0, out) whose tap o * stride + offset lands inside [0, size): returns [lo, hi).
inline void valid_taps(int64_t offset, int64_t stride, int64_t size, int64_t out, int64_t& lo, int64_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = offset >= size ? 0 : std::min(out, (size - 1 - offset) / stride + 1);
  if (hi < lo) hi = lo;
}

}  // namespace

int copy_threads() { return blas_shares_openmp_pool() || blas_threads() <= 1 ? omp_get_max_threads() : 1; }

template <class T>
void im2col_block(const T* image, const ConvGeometry& g, int64_t r0, int64_t r1, int64_t oy0, int64_t oy1, T* col,
                  int64_t ld) {
  const int64_t ow = g.out_w;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / (g.kernel_h * g.kernel_w), ki = (r / g.kernel_w) % g.kernel_h, kj = r % g.kernel_w;
    const T* src = image + c * g.height * g.width;
    T* dst = col + (r - r0) * ld;
    int64_t lo, hi;
    valid_taps(kj - g.pad_w, g.stride_w, g.width, ow, lo, hi);
    for (int64_t oy = oy0; oy < oy1; ++oy, dst += ow) {
      const int64_t iy = oy * g.stride_h - g.pad_h + ki;
      if (iy < 0 || iy >= g.height) {
        std::fill(dst, dst + ow, T(0));
        continue;
      }
      std::fill(dst, dst + lo, T(0));
      // Indices, not a shifted pointer: the shift can point before the buffer when padding.
      const int64_t base = iy * g.width + kj - g.pad_w;
      if (g.stride_w == 1) {
        std::memcpy(dst + lo, src + base + lo, static_cast<size_t>(hi - lo) * sizeof(T));
      } else if (g.stride_w == 2) {  // a constant stride lets the compiler vectorize the gather (the U-Net's case)
        for (int64_t ox = lo; ox < hi; ++ox) dst[ox] = src[base + 2 * ox];
      } else {
        for (int64_t ox = lo; ox < hi; ++ox) dst[ox] = src[base + ox * g.stride_w];
      }
      std::fill(dst + hi, dst + ow, T(0));
    }
  }
}

template <class T> void col2im_channels(const T* col, int64_t ld, const ConvGeometry& g, int64_t c0, int64_t c1, T* image) {
  const int64_t ow = g.out_w, half = (g.width + 1) / 2;
  // Stride 2: each column entry row lands on every other pixel; summing into the even and the odd pixels as two
  // contiguous rows lets the adds vectorize. Same terms in the same order either way.
  std::vector<T> parity(g.stride_w == 2 ? static_cast<size_t>(2 * half) : 0);
  // Gather form: each image row adds every column entry that lands on it in a fixed (ki, kj, ox) order.
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t iy = 0; iy < g.height; ++iy) {
      T* dst = image + (c * g.height + iy) * g.width;
      T* acc = g.stride_w == 2 ? parity.data() : dst;
      std::fill(acc, acc + (g.stride_w == 2 ? 2 * half : g.width), T(0));
      for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
        const int64_t t = iy + g.pad_h - ki;
        if (t < 0 || t % g.stride_h != 0 || t / g.stride_h >= g.out_h) continue;
        const int64_t oy = t / g.stride_h;
        for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
          const T* src = col + (((c - c0) * g.kernel_h + ki) * g.kernel_w + kj) * ld + oy * ow;
          const int64_t shift = kj - g.pad_w;
          int64_t lo, hi;
          valid_taps(shift, g.stride_w, g.width, ow, lo, hi);
          if (g.stride_w == 2) {
            const int64_t odd = shift & 1;  // pixel shift + 2 * ox is pixel ox + (shift - odd) / 2 of that parity
            T* row = acc + odd * half + (shift - odd) / 2;
            for (int64_t ox = lo; ox < hi; ++ox) row[ox] += src[ox];
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) dst[shift + ox * g.stride_w] += src[ox];
          }
        }
      }
      if (g.stride_w == 2) {
        for (int64_t m = 0; m < g.width / 2; ++m) {  // interleave back; written this way it vectorizes
          dst[2 * m] = acc[m];
          dst[2 * m + 1] = acc[half + m];
        }
        if (g.width & 1) dst[g.width - 1] = acc[half - 1];
      }
    }
  }
}

template <>
void gemm<float>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  dgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <class T> void add_channel_bias(T* out, const T* bias, int64_t channels, int64_t plane) {
#pragma omp parallel for schedule(static) num_threads(copy_threads()) if (channels * plane > kParallelMin)
  for (int64_t c = 0; c < channels; ++c) {
    T* p = out + c * plane;
    const T b = bias[c];
    for (int64_t i = 0; i < plane; ++i) p[i] += b;
  }
}

template <class T> void sum_per_channel(const T* dy, int64_t batch, int64_t channels, int64_t plane, T* db) {
#pragma omp parallel for schedule(static) num_threads(copy_threads()) if (batch * channels * plane > kParallelMin)
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0;
    for (int64_t n = 0; n < batch; ++n) {
      const T* p = dy + (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) s += static_cast<double>(p[i]);
    }
    db[c] = static_cast<T>(s);
  }
}

#define ASYNDGAN_INSTANTIATE(T)                                            \
  template void im2col_block<T>(const T*, const ConvGeometry&, int64_t, int64_t, int64_t, int64_t, T*, int64_t); \
  template void col2im_channels<T>(const T*, int64_t, const ConvGeometry&, int64_t, int64_t, T*);             \
  template void add_channel_bias<T>(T*, const T*, int64_t, int64_t);      \
  template void sum_per_channel<T>(const T*, int64_t, int64_t, int64_t, T*);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
