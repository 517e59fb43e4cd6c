// The single-row convolution paths. Each works on a plane laid on a wider grid: with row stride Wg, the tap
// (ki, kj) of every output pixel sits at one fixed offset ki * Wg + kj from it, so a tap over a whole plane is one
// contiguous scaled-row add (or dot product) of length about H * Wg; the grid's extra columns are junk, never
// read back. Each output is summed by one thread in a fixed order (channel, then tap), so the bits do not depend
// on the threads.
#include "kernels/cpu/conv_single.h"
#include <algorithm>
#include <memory>
#include "kernels/cpu/thread_scratch.h"
#include "kernels/cpu/vec.h"

namespace asyndgan::kern::cpu {
namespace {

constexpr int64_t kChannelBlock = 16;  // channels per scatter / weight-gradient unit
constexpr int64_t kRowUnits = 8;       // forward units to aim for when the batch alone is fewer

// Rows [r0, r1) of plane [h, w] zero-padded by (top, left) into a grid of row stride wg, rows counted in the
// padded plane (row r holds plane row r - top, or zeros).
template <class T>
void pad_rows(const T* plane, int64_t h, int64_t w, int64_t top, int64_t left, int64_t wg, int64_t r0, int64_t r1,
              T* dst) {
  for (int64_t r = r0; r < r1; ++r, dst += wg) {
    const int64_t y = r - top;
    std::fill(dst, dst + wg, T(0));
    if (y >= 0 && y < h) std::copy(plane + y * w, plane + (y + 1) * w, dst + left);
  }
}

// acc[0, n) += a * src[0, n).
template <class T> void add_scaled(T* __restrict acc, const T* __restrict src, T a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += a * src[i];
}

// sum over i < n of a[i] * b[i], in a fixed order: lane-wise partial sums, then the lanes, then the tail.
template <class T> T dot(const T* a, const T* b, int64_t n) {
  Vec<T> s{};
  int64_t i = 0;
  for (; i + lanes<T> <= n; i += lanes<T>) s += load(a + i) * load(b + i);
  T t = 0;
  for (int l = 0; l < lanes<T>; ++l) t += s[l];
  for (; i < n; ++i) t += a[i] * b[i];
  return t;
}

}  // namespace

// out[n] = sum over (c, ki, kj) of wm[c, ki, kj] * the padded image shifted by the tap: units of (image, block of
// output rows), each accumulating its rows on a grid of the padded width.
template <class T> void single_multiply(const T* image, const T* wm, const ConvGeometry& g, int64_t batch, T* out) {
  const int64_t wp = g.width + 2 * g.pad_w, oh = g.out_h, ow = g.out_w;
  const int64_t row_blocks = std::min(oh, ceil_div(kRowUnits, batch)), rb = ceil_div(oh, row_blocks);
  const int64_t units = batch * ceil_div(oh, rb);
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads()) if (units > 1)
  for (int64_t u = 0; u < units; ++u) {
    const int64_t n = u / ceil_div(oh, rb), y0 = (u % ceil_div(oh, rb)) * rb, y1 = std::min(oh, y0 + rb);
    const int64_t len = (y1 - y0 - 1) * wp + ow, xrows = y1 - y0 + g.kernel_h - 1;
    T* acc = thread_buffer<T, 0>(len);
    T* xp = thread_buffer<T, 1>(xrows * wp);
    std::fill(acc, acc + len, T(0));
    for (int64_t c = 0; c < g.channels; ++c) {
      pad_rows(image + (n * g.channels + c) * g.height * g.width, g.height, g.width, g.pad_h, g.pad_w, wp, y0,
               y0 + xrows, xp);
      for (int64_t ki = 0; ki < g.kernel_h; ++ki)
        for (int64_t kj = 0; kj < g.kernel_w; ++kj)
          add_scaled(acc, xp + ki * wp + kj, wm[(c * g.kernel_h + ki) * g.kernel_w + kj], len);
    }
    for (int64_t oy = y0; oy < y1; ++oy)
      std::copy(acc + (oy - y0) * wp, acc + (oy - y0) * wp + ow, out + (n * oh + oy) * ow);
  }
}

// image[n, c] = sum over taps of wm[c, ki, kj] * in[n] shifted back by the tap: in[n] is padded by the kernel
// size less one on every side, so every tap of every pixel reads inside it; units of (image, block of channels).
template <class T> void single_scatter(const T* in, const T* wm, const ConvGeometry& g, int64_t batch, T* image) {
  const int64_t oh = g.out_h, ow = g.out_w, kh = g.kernel_h, kw = g.kernel_w;
  const int64_t wq = ow + 2 * (kw - 1), hq = oh + 2 * (kh - 1), plane = g.height * g.width;
  std::unique_ptr<T[]> dp(new T[static_cast<size_t>(batch * hq * wq)]);
  for (int64_t n = 0; n < batch; ++n) pad_rows(in + n * oh * ow, oh, ow, kh - 1, kw - 1, wq, 0, hq, dp.get() + n * hq * wq);
  const int64_t blocks = ceil_div(g.channels, kChannelBlock), units = batch * blocks;
  const int64_t len = (g.height - 1) * wq + g.width;
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads()) if (units > 1)
  for (int64_t u = 0; u < units; ++u) {
    const int64_t n = u / blocks, c0 = (u % blocks) * kChannelBlock, c1 = std::min(g.channels, c0 + kChannelBlock);
    // Pixel (iy, ix), tap (ki, kj) reads in[n] at (iy + pad_h - ki, ix + pad_w - kj), i.e. grid offset base - shift.
    const T* base = dp.get() + n * hq * wq + (g.pad_h + kh - 1) * wq + g.pad_w + kw - 1;
    T* acc = thread_buffer<T, 0>(len);
    for (int64_t c = c0; c < c1; ++c) {
      std::fill(acc, acc + len, T(0));
      for (int64_t ki = 0; ki < kh; ++ki)
        for (int64_t kj = 0; kj < kw; ++kj) add_scaled(acc, base - ki * wq - kj, wm[(c * kh + ki) * kw + kj], len);
      T* dst = image + (n * g.channels + c) * plane;
      for (int64_t iy = 0; iy < g.height; ++iy) std::copy(acc + iy * wq, acc + iy * wq + g.width, dst + iy * g.width);
    }
  }
}

// dwm[c, ki, kj] = sum over n, then over output pixels, of in[n] times the padded image shifted by the tap: in[n]
// is laid on the padded image's grid (zeros in the extra columns); units of blocks of channels.
template <class T>
void single_weight_gradient(const T* image, const T* in, const ConvGeometry& g, int64_t batch, T* dwm) {
  const int64_t oh = g.out_h, ow = g.out_w, kh = g.kernel_h, kw = g.kernel_w;
  const int64_t wp = g.width + 2 * g.pad_w, hp = g.height + 2 * g.pad_h, len = (oh - 1) * wp + ow;
  std::unique_ptr<T[]> dyg(new T[static_cast<size_t>(batch * len)]());
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t oy = 0; oy < oh; ++oy)
      std::copy(in + (n * oh + oy) * ow, in + (n * oh + oy + 1) * ow, dyg.get() + n * len + oy * wp);
  const int64_t units = ceil_div(g.channels, kChannelBlock);
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads()) if (units > 1)
  for (int64_t u = 0; u < units; ++u) {
    T* xp = thread_buffer<T, 0>(batch * hp * wp);
    for (int64_t c = u * kChannelBlock; c < std::min(g.channels, (u + 1) * kChannelBlock); ++c) {
      for (int64_t n = 0; n < batch; ++n)
        pad_rows(image + (n * g.channels + c) * g.height * g.width, g.height, g.width, g.pad_h, g.pad_w, wp, 0, hp,
                 xp + n * hp * wp);
      for (int64_t ki = 0; ki < kh; ++ki)
        for (int64_t kj = 0; kj < kw; ++kj) {
          T s = 0;
          for (int64_t n = 0; n < batch; ++n) s += dot(dyg.get() + n * len, xp + n * hp * wp + ki * wp + kj, len);
          dwm[(c * kh + ki) * kw + kj] = s;
        }
    }
  }
}

#define ASYNDGAN_INSTANTIATE(T)                                                                  \
  template void single_multiply<T>(const T*, const T*, const ConvGeometry&, int64_t, T*);       \
  template void single_scatter<T>(const T*, const T*, const ConvGeometry&, int64_t, T*);        \
  template void single_weight_gradient<T>(const T*, const T*, const ConvGeometry&, int64_t, T*);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
