// The batched convolution drivers. A one-row Wm with stride 1 goes to the direct paths (kernels/cpu/conv_single.h),
// f32 stride-1 3x3 / 4x4 kernels between wide layers to the Winograd ones (kernels/cpu/conv_winograd.h);
// otherwise by the width of the batch's column matrix [K, batch * P]: a few columns go to the narrow paths
// (kernels/cpu/conv_narrow.h); too few for kMinUnits chunks, the whole batch is lowered and
// multiplied in one GEMM that OpenBLAS threads. Otherwise the work is split into units fixed by the shapes alone,
// never by the thread count; a unit is one thread's from start to end: its own im2col block in a buffer about
// half the L2, a single-threaded GEMM (OpenBLAS's OpenMP build runs serially inside a parallel region) and
// outputs no other unit touches, summed in a fixed order. So the bits do not depend on the threads, no copy runs
// serially between GEMMs, the column matrix is read back from L2 rather than memory, and on a busy machine a
// preempted thread delays only its own units (schedule(dynamic)) instead of stalling a barrier per image.
#include "kernels/cpu/conv_lowered.h"
#include "kernels/cpu/conv_narrow.h"
#include "kernels/cpu/conv_single.h"
#include "kernels/cpu/conv_winograd.h"
#include "kernels/cpu/thread_scratch.h"
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

namespace asyndgan::kern::cpu {
namespace {

constexpr int64_t kBlockBytes = int64_t{1} << 20;  // a thread's column block: half of a 2 MB L2
constexpr int64_t kMinCols = 128;                  // narrower GEMMs lose much of OpenBLAS's speed
constexpr int64_t kWideCols = 1024;                // the GEMM width aimed at when images are grouped
constexpr int64_t kMaxBlockRows = 256;             // Wm columns per weight-gradient / scatter unit
constexpr int64_t kMinUnits = 4;                   // fewer chunks than this: one BLAS-threaded GEMM instead

// Columns of the batch's column matrix laid side by side, [K, batch * P]: whole images [n0, n1), or the window
// rows [oy0, oy1) of image n0 alone (n1 = n0 + 1).
struct Chunk {
  int64_t n0, n1, oy0, oy1;
};

// Chunks of about `cols` columns: window-row slabs of one image when an image is wider, else groups of images
// (small images: one GEMM over several of them reads Wm once instead of once per image).
std::vector<Chunk> make_chunks(const ConvGeometry& g, int64_t batch, int64_t cols) {
  std::vector<Chunk> out;
  const int64_t p = g.col_cols();
  if (p > cols) {
    const int64_t step = std::max<int64_t>(1, cols / g.out_w);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t oy = 0; oy < g.out_h; oy += step) out.push_back({n, n + 1, oy, std::min(oy + step, g.out_h)});
  } else {
    const int64_t step = std::max<int64_t>(1, cols / p);
    for (int64_t n = 0; n < batch; n += step) out.push_back({n, std::min(n + step, batch), 0, g.out_h});
  }
  return out;
}

int64_t chunk_cols(const Chunk& c, const ConvGeometry& g) {
  return c.n1 - c.n0 > 1 ? (c.n1 - c.n0) * g.col_cols() : (c.oy1 - c.oy0) * g.out_w;
}

// The chunk's columns of rows [r0, r1) of the column matrix, as a GEMM operand: the image itself for a 1x1
// window within one image, else im2col into the thread's buffer (row stride = the chunk's width).
template <class T>
const T* lowered_block(const T* image, const ConvGeometry& g, const Chunk& c, int64_t r0, int64_t r1, int64_t& ld) {
  const int64_t p = g.col_cols();
  if (c.n1 - c.n0 == 1 && g.is_identity()) {
    ld = p;
    return image + c.n0 * g.image_size() + r0 * p + c.oy0 * g.out_w;
  }
  ld = chunk_cols(c, g);
  T* col = thread_buffer<T, 0>((r1 - r0) * ld);
  for (int64_t n = c.n0; n < c.n1; ++n)
    im2col_block(image + n * g.image_size(), g, r0, r1, c.oy0, c.oy1, col + (n - c.n0) * p, ld);
  return col;
}

// [batch][rows][p] -> [rows][batch * p], so that one GEMM can run over the columns of several small images.
template <class T> std::unique_ptr<T[]> images_side_by_side(const T* in, int64_t batch, int64_t rows, int64_t p) {
  std::unique_ptr<T[]> out(new T[static_cast<size_t>(batch * rows * p)]);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(out.get() + r * batch * p + n * p, in + (n * rows + r) * p, static_cast<size_t>(p) * sizeof(T));
  return out;
}

// lower_multiply when the batch's column matrix is too narrow to split into enough units: lower the whole batch
// (in parallel), then one GEMM that OpenBLAS threads itself; it splits only the output, never the sums, so the
// bits are those of a single thread. Wm is read once for the whole batch.
template <class T>
void whole_multiply(const T* image, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* out) {
  const int64_t k = g.col_rows(), p = g.col_cols(), cols = batch * p, slabs = ceil_div(k, kMinCols);
  std::unique_ptr<T[]> col(new T[static_cast<size_t>(k * cols)]);
  std::unique_ptr<T[]> tmp(batch > 1 ? new T[static_cast<size_t>(rows * cols)] : nullptr);
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads())
  for (int64_t s = 0; s < slabs * batch; ++s) {
    const int64_t n = s / slabs, r0 = (s % slabs) * kMinCols;
    im2col_block(image + n * g.image_size(), g, r0, std::min(k, r0 + kMinCols), 0, g.out_h, col.get() + r0 * cols + n * p,
                 cols);
  }
  gemm<T>(false, false, rows, cols, k, T(1), wm, k, col.get(), cols, T(0), tmp ? tmp.get() : out, cols);
  if (!tmp) return;
#pragma omp parallel for schedule(static) num_threads(copy_threads())
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < batch; ++n)
      std::memcpy(out + (n * rows + r) * p, tmp.get() + r * cols + n * p, static_cast<size_t>(p) * sizeof(T));
}

}  // namespace

template <class T>
void lower_multiply(const T* image, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* out,
                    bool winograd) {
  const int64_t k = g.col_rows(), p = g.col_cols();
  if (single_row(rows, g)) return single_multiply(image, wm, g, batch, out);
  if constexpr (std::is_same_v<T, float>)
    if (winograd && winograd_fits(rows, g, batch, WinogradPass::forward)) return winograd_multiply(image, wm, rows, g, batch, out);
  if (batch * p <= kNarrowForward) return narrow_multiply(image, wm, rows, g, batch, out);
  const auto chunks = make_chunks(g, batch, std::max<int64_t>(kMinCols, kBlockBytes / (k * int64_t(sizeof(T)))));
  const int64_t units = static_cast<int64_t>(chunks.size());
  if (units < kMinUnits) return whole_multiply(image, wm, rows, g, batch, out);
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads())
  for (int64_t u = 0; u < units; ++u) {
    const Chunk& c = chunks[static_cast<size_t>(u)];
    const int64_t w = chunk_cols(c, g);
    int64_t ldb;
    const T* b = lowered_block(image, g, c, 0, k, ldb);
    if (c.n1 - c.n0 == 1) {
      gemm<T>(false, false, rows, w, k, T(1), wm, k, b, ldb, T(0), out + c.n0 * rows * p + c.oy0 * g.out_w, p);
      continue;
    }
    // Several images: the product is [rows, images * P]; deal its column runs back to the images.
    T* tmp = thread_buffer<T, 1>(rows * w);
    gemm<T>(false, false, rows, w, k, T(1), wm, k, b, ldb, T(0), tmp, w);
    for (int64_t n = c.n0; n < c.n1; ++n)
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(out + (n * rows + r) * p, tmp + r * w + (n - c.n0) * p, static_cast<size_t>(p) * sizeof(T));
  }
}

template <class T>
void multiply_scatter(const T* in, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* image,
                      bool winograd) {
  const int64_t k = g.col_rows(), p = g.col_cols(), taps = g.kernel_h * g.kernel_w;
  if (single_row(rows, g)) return single_scatter(in, wm, g, batch, image);
  if constexpr (std::is_same_v<T, float>)
    if (winograd && winograd_fits(rows, g, batch, WinogradPass::scatter)) return winograd_scatter(in, wm, rows, g, batch, image);
  if (batch * p <= kNarrowGradient) return narrow_scatter(in, wm, rows, g, batch, image);
  // Units: a group of whole images (col2im gathers across window rows, so an image's columns stay together) times
  // a block of whole channels, whose column rows this unit computes and scatters; no two units share a pixel.
  const int64_t group = p >= kWideCols ? 1 : std::min(batch, kWideCols / p), w = group * p;
  const int64_t groups = ceil_div(batch, group);
  int64_t kb = std::clamp<int64_t>(4 * kBlockBytes / (w * int64_t(sizeof(T))), 1, kMaxBlockRows);
  kb = std::max<int64_t>(1, kb / taps) * taps;
  const int64_t k_blocks = ceil_div(k, kb), units = groups * k_blocks;
  std::unique_ptr<T[]> side = group > 1 ? images_side_by_side(in, batch, rows, p) : nullptr;
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads()) if (units > 1)
  for (int64_t u = 0; u < units; ++u) {
    const int64_t n0 = (u / k_blocks) * group, n1 = std::min(batch, n0 + group), wc = (n1 - n0) * p;
    const int64_t k0 = (u % k_blocks) * kb, k1 = std::min(k, k0 + kb);
    const T* b = side ? side.get() + n0 * p : in + n0 * rows * p;
    T* col = thread_buffer<T, 0>((k1 - k0) * wc);
    gemm<T>(true, false, k1 - k0, wc, rows, T(1), wm + k0, k, b, side ? batch * p : p, T(0), col, wc);
    for (int64_t n = n0; n < n1; ++n)
      col2im_channels(col + (n - n0) * p, wc, g, k0 / taps, k1 / taps, image + n * g.image_size());
  }
}

template <class T>
void weight_gradient(const T* image, const T* in, int64_t rows, const ConvGeometry& g, int64_t batch, T* dwm,
                     bool winograd) {
  const int64_t k = g.col_rows(), p = g.col_cols(), taps = g.kernel_h * g.kernel_w;
  if (single_row(rows, g)) return single_weight_gradient(image, in, g, batch, dwm);
  if constexpr (std::is_same_v<T, float>)
    if (winograd && winograd_fits(rows, g, batch, WinogradPass::weight_gradient))
      return winograd_weight_gradient(image, in, rows, g, batch, dwm);
  if (batch * p <= kNarrowGradient) return narrow_weight_gradient(image, in, rows, g, batch, dwm);
  // Units: a block of whole channels of Wm's columns times a block of its rows; each runs through every chunk in
  // order, accumulating into its own block of dWm, so each sum has one fixed order.
  const auto chunks = make_chunks(g, batch, kWideCols);
  int64_t widest = 0;
  for (const Chunk& c : chunks) widest = std::max(widest, chunk_cols(c, g));
  int64_t kb = std::clamp<int64_t>(kBlockBytes / (widest * int64_t(sizeof(T))), 1, kMaxBlockRows);
  kb = std::min(kb, ceil_div(k, kMinUnits));
  kb = std::max<int64_t>(1, kb / taps) * taps;
  const int64_t k_blocks = ceil_div(k, kb);
  const int64_t row_blocks = std::clamp<int64_t>(ceil_div(kMinUnits, k_blocks), 1, ceil_div(rows, 16));
  const int64_t rb = ceil_div(rows, row_blocks), units = k_blocks * row_blocks;
  const bool grouped = chunks.front().n1 - chunks.front().n0 > 1;
  std::unique_ptr<T[]> side = grouped ? images_side_by_side(in, batch, rows, p) : nullptr;
#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads()) if (units > 1)
  for (int64_t u = 0; u < units; ++u) {
    const int64_t k0 = (u / row_blocks) * kb, k1 = std::min(k, k0 + kb);
    const int64_t r0 = (u % row_blocks) * rb, r1 = std::min(rows, r0 + rb);
    for (size_t ci = 0; ci < chunks.size(); ++ci) {
      const Chunk& c = chunks[ci];
      int64_t ldb;
      const T* b = lowered_block(image, g, c, k0, k1, ldb);
      const T* a = side ? side.get() + r0 * batch * p + c.n0 * p : in + (c.n0 * rows + r0) * p + c.oy0 * g.out_w;
      gemm<T>(false, true, r1 - r0, k1 - k0, chunk_cols(c, g), T(1), a, side ? batch * p : p, b, ldb,
              ci == 0 ? T(0) : T(1), dwm + r0 * k + k0, k);
    }
  }
}

#define ASYNDGAN_INSTANTIATE(T)                                                                     \
  template void lower_multiply<T>(const T*, const T*, int64_t, const ConvGeometry&, int64_t, T*, bool);   \
  template void multiply_scatter<T>(const T*, const T*, int64_t, const ConvGeometry&, int64_t, T*, bool); \
  template void weight_gradient<T>(const T*, const T*, int64_t, const ConvGeometry&, int64_t, T*, bool);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
