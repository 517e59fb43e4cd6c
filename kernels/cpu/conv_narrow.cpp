// The narrow convolution paths: units of Wm rows (or of whole channels' Wm columns) per thread, each summing in a
// fixed order, so the bits do not depend on the threads. Explicit 64-byte vectors, as the compiler leaves these
// multi-sum loops scalar.
#include "kernels/cpu/conv_narrow.h"
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>
#include "kernels/cpu/thread_scratch.h"
#include "kernels/cpu/vec.h"

namespace asyndgan::kern::cpu {
namespace {

constexpr int64_t kNarrowRows = 16;  // rows of Wm per unit
constexpr int64_t kBlockCols = 256;  // columns of Wm per scatter unit: its sums stay in L1

// The whole batch's column matrix, [K, batch * P], for the narrow paths.
template <class T> std::unique_ptr<T[]> narrow_columns(const T* image, const ConvGeometry& g, int64_t batch) {
  const int64_t k = g.col_rows(), p = g.col_cols(), w = batch * p;
  std::unique_ptr<T[]> col(new T[static_cast<size_t>(k * w)]);
  for (int64_t n = 0; n < batch; ++n) im2col_block(image + n * g.image_size(), g, 0, k, 0, g.out_h, col.get() + n * p, w);
  return col;
}

// acc[j, 0..n) = sum over r of a[r, j] * wr[r, 0..n) for j < J (a [rows, J], wr rows `ldw` apart): J sums per
// vector of Wm in registers while r runs down its rows, so each loaded vector of Wm feeds J multiply-adds. The
// block of Wm is first copied vector column by vector column into `pack`: walking down Wm's rows directly
// strides a whole row per load, which the prefetchers do not follow.
template <int J, class T>
void narrow_scatter_sums(const T* a, const T* wr, int64_t ldw, int64_t rows, int64_t n, T* pack, T* acc) {
  const int64_t vecs = n / lanes<T>;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vecs; ++v)
      std::memcpy(pack + (v * rows + r) * lanes<T>, wr + r * ldw + v * lanes<T>, sizeof(Vec<T>));
  for (int64_t v = 0; v < vecs; ++v) {
    Vec<T> s[J] = {};
    const T* x = pack + v * rows * lanes<T>;
    for (int64_t r = 0; r < rows; ++r, x += lanes<T>) {
      const Vec<T> xv = load(x);
      for (int j = 0; j < J; ++j) s[j] += a[r * J + j] * xv;
    }
    for (int j = 0; j < J; ++j) std::memcpy(acc + j * n + v * lanes<T>, &s[j], sizeof s[j]);
  }
  for (int64_t kk = vecs * lanes<T>; kk < n; ++kk)
    for (int j = 0; j < J; ++j) {
      T s = 0;
      for (int64_t r = 0; r < rows; ++r) s += a[r * J + j] * wr[r * ldw + kk];
      acc[j * n + kk] = s;
    }
}
}  // namespace

// lower_multiply for at most kNarrowForward columns in all: four dot products per row of Wm, reading it once.
template <class T>
void narrow_multiply(const T* image, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* out) {
  const int64_t k = g.col_rows(), p = g.col_cols(), w = batch * p, blocks = (rows + kNarrowRows - 1) / kNarrowRows;
  // Transposed, [4, K] (zero rows past w): each lowered column a contiguous row to take dot products with.
  const auto col = narrow_columns(image, g, batch);
  std::unique_ptr<T[]> ct(new T[static_cast<size_t>(kNarrowForward * k)]());
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < w; ++j) ct[static_cast<size_t>(j * k + r)] = col[static_cast<size_t>(r * w + j)];
  const T *c0 = ct.get(), *c1 = c0 + k, *c2 = c1 + k, *c3 = c2 + k;
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads()) if (blocks > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    for (int64_t i = blk * kNarrowRows; i < std::min(rows, (blk + 1) * kNarrowRows); ++i) {
      const T* wr = wm + i * k;
      // Explicit 64-byte vectors: the compiler leaves this four-sum reduction scalar otherwise.
      Vec<T> v0{}, v1{}, v2{}, v3{};
      int64_t kk = 0;
      for (; kk + lanes<T> <= k; kk += lanes<T>) {
        const Vec<T> x = load(wr + kk);
        v0 += x * load(c0 + kk);
        v1 += x * load(c1 + kk);
        v2 += x * load(c2 + kk);
        v3 += x * load(c3 + kk);
      }
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int l = 0; l < lanes<T>; ++l) s0 += v0[l], s1 += v1[l], s2 += v2[l], s3 += v3[l];
      for (; kk < k; ++kk) s0 += wr[kk] * c0[kk], s1 += wr[kk] * c1[kk], s2 += wr[kk] * c2[kk], s3 += wr[kk] * c3[kk];
      const T s[kNarrowForward] = {s0, s1, s2, s3};
      for (int64_t j = 0; j < w; ++j) out[((j / p) * rows + i) * p + j % p] = s[j];
    }
  }
}

// weight_gradient for at most kNarrowGradient columns in all: each row of dWm is written once, as a sum of
// that many scaled lowered columns in a fixed order, instead of OpenBLAS zeroing it and then adding to it.
template <class T>
void narrow_weight_gradient(const T* image, const T* in, int64_t rows, const ConvGeometry& g, int64_t batch, T* dwm) {
  const int64_t k = g.col_rows(), p = g.col_cols(), w = batch * p, blocks = (rows + kNarrowRows - 1) / kNarrowRows;
  // Packed as [K / lanes][w][lanes]: the w vectors that one vector of dWm sums are adjacent (read straight down
  // the rows of the column matrix they would sit a row, here 4 KB or more, apart and evict each other from L1).
  const auto col = narrow_columns(image, g, batch);
  const int64_t vecs = k / lanes<T>;
  std::unique_ptr<T[]> cp(new T[static_cast<size_t>(vecs * w * lanes<T>)]);
  for (int64_t v = 0; v < vecs; ++v)
    for (int64_t j = 0; j < w; ++j)
      for (int l = 0; l < lanes<T>; ++l) cp[static_cast<size_t>((v * w + j) * lanes<T> + l)] = col[static_cast<size_t>((v * lanes<T> + l) * w + j)];
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads()) if (blocks > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t i0 = blk * kNarrowRows, i1 = std::min(rows, i0 + kNarrowRows);
    T a[kNarrowRows][kNarrowGradient];
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = 0; j < w; ++j) a[i - i0][j] = in[((j / p) * rows + i) * p + j % p];
    // A segment of the packed columns (in L1) serves all the unit's rows before the next; kChains vectors of
    // dWm at once, in registers through all w terms: independent chains, or each would wait on its last add.
    constexpr int64_t kSegment = 16, kChains = 8;  // vectors
    for (int64_t v0 = 0; v0 < vecs; v0 += kSegment) {
      const int64_t v1 = std::min(vecs, v0 + kSegment);
      for (int64_t i = i0; i < i1; ++i) {
        const T* ai = a[i - i0];
        T* d = dwm + i * k;
        int64_t v = v0;
        for (; v + kChains <= v1; v += kChains) {
          Vec<T> s[kChains];
          for (int t = 0; t < kChains; ++t) s[t] = ai[0] * load(cp.get() + (v + t) * w * lanes<T>);
          for (int64_t j = 1; j < w; ++j)
            for (int t = 0; t < kChains; ++t) s[t] += ai[j] * load(cp.get() + ((v + t) * w + j) * lanes<T>);
          std::memcpy(d + v * lanes<T>, s, sizeof s);
        }
        for (; v < v1; ++v) {
          const T* c = cp.get() + v * w * lanes<T>;
          Vec<T> s = ai[0] * load(c);
          for (int64_t j = 1; j < w; ++j) s += ai[j] * load(c + j * lanes<T>);
          std::memcpy(d + v * lanes<T>, &s, sizeof s);
        }
      }
    }
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t kk = vecs * lanes<T>; kk < k; ++kk) {
        T s = a[i - i0][0] * col[static_cast<size_t>(kk * w)];
        for (int64_t j = 1; j < w; ++j) s += a[i - i0][j] * col[static_cast<size_t>(kk * w + j)];
        dwm[i * k + kk] = s;
      }
  }
}

// multiply_scatter for at most kNarrowGradient columns in all: each unit sums, row by row of Wm (read once),
// the column rows of a block of whole channels, then gathers them into those channels of every image.
template <class T>
void narrow_scatter(const T* in, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* image) {
  const int64_t k = g.col_rows(), p = g.col_cols(), w = batch * p, taps = g.kernel_h * g.kernel_w;
  const int64_t kb = std::max<int64_t>(1, kBlockCols / taps) * taps, blocks = (k + kb - 1) / kb;
  const int J = w <= 4 ? 4 : w <= 8 ? 8 : 16;  // accumulators: w rounded up, the extra ones fed zeros
  std::vector<T> a(static_cast<size_t>(rows * J), T(0));  // in as [rows, J]
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) a[static_cast<size_t>(r * J + j)] = in[((j / p) * rows + r) * p + j % p];
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads()) if (blocks > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t k0 = blk * kb, n = std::min(k, k0 + kb) - k0;
    T* acc = thread_buffer<T, 0>((J + w) * kb);  // [J, n] sums, then the first w of them transposed: [n, w]
    T* col = acc + J * kb;
    T* pack = thread_buffer<T, 1>(rows * kb);
    if (J == 4) narrow_scatter_sums<4>(a.data(), wm + k0, k, rows, n, pack, acc);
    else if (J == 8) narrow_scatter_sums<8>(a.data(), wm + k0, k, rows, n, pack, acc);
    else narrow_scatter_sums<16>(a.data(), wm + k0, k, rows, n, pack, acc);
    for (int64_t kk = 0; kk < n; ++kk)
      for (int64_t j = 0; j < w; ++j) col[kk * w + j] = acc[j * n + kk];
    for (int64_t im = 0; im < batch; ++im)
      col2im_channels(col + im * p, w, g, k0 / taps, (k0 + n) / taps, image + im * g.image_size());
  }
}
#define ASYNDGAN_INSTANTIATE(T)                                                                           \
  template void narrow_multiply<T>(const T*, const T*, int64_t, const ConvGeometry&, int64_t, T*);        \
  template void narrow_scatter<T>(const T*, const T*, int64_t, const ConvGeometry&, int64_t, T*);         \
  template void narrow_weight_gradient<T>(const T*, const T*, int64_t, const ConvGeometry&, int64_t, T*);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
