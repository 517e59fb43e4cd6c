// Convolution kernels over contiguous host buffers: im2col / col2im for one NCHW image, a row-major GEMM
// over BLAS (kernels/cpu/blas.h), and the per-channel bias add and reduction.
#pragma once
#include <cstdint>

namespace asyndgan::kern::cpu {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }  // a, b > 0

// One image [channels, height, width] seen through a kernel window sliding with stride and zero padding;
// out_h x out_w window positions. The column matrix is [channels * kernel_h * kernel_w, out_h * out_w].
struct ConvGeometry {
  int64_t channels, height, width;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_h, pad_w;
  int64_t out_h, out_w;
  int64_t col_rows() const { return channels * kernel_h * kernel_w; }
  int64_t col_cols() const { return out_h * out_w; }
  int64_t image_size() const { return channels * height * width; }
  // A 1x1, stride-1, unpadded window: the column matrix is the image itself, no copy needed.
  bool is_identity() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0;
  }
};

// The column matrix's rows [r0, r1) restricted to window rows [oy0, oy1) (columns oy0*out_w .. oy1*out_w), written
// to col (row r0 first) with row stride ld; zeros where the window hangs over the padding. Serial: the callers
// (kernels/cpu/conv_lowered.cpp) give each thread its own block.
template <class T>
void im2col_block(const T* image, const ConvGeometry& g, int64_t r0, int64_t r1, int64_t oy0, int64_t oy1, T* col,
                  int64_t ld);
// Channels [c0, c1) of image = the sum, at each pixel, of the column entries that im2col would have read from it
// (the adjoint), reading the column rows of those channels from col (channel c0's first row first, row stride
// ld, all out_h*out_w columns). Serial; each pixel is summed in a fixed order.
template <class T> void col2im_channels(const T* col, int64_t ld, const ConvGeometry& g, int64_t c0, int64_t c1, T* image);

// Row-major C[m,n] = alpha * op(A) op(B) + beta * C, op transposing when asked; threads come from BLAS.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc);

// Threads for the OpenMP loops of the CPU convolution. With the OpenMP build of OpenBLAS both
// share one pool: the whole team. With the pthread build, OpenBLAS's workers keep spinning for a while after
// each GEMM, so an OpenMP team on top would put more runnable threads than cores (measured 1.5-2.5x slower on
// 2 cores): the calling thread alone unless BLAS is single-threaded. The results never depend on the choice.
int copy_threads();

// out[c, p] += bias[c] for a [channels, plane] buffer.
template <class T> void add_channel_bias(T* out, const T* bias, int64_t channels, int64_t plane);
// db[c] = sum over n and p of dy[n, c, p], accumulated in double in a fixed order.
template <class T> void sum_per_channel(const T* dy, int64_t batch, int64_t channels, int64_t plane, T* db);

}  // namespace asyndgan::kern::cpu
