// The Winograd convolution drivers. Each runs three phases: transform both operands tile by tile into n x n
// planes (16 tiles or channels at a time, one per vector lane), one GEMM per plane (n^2 of them, each
// single-threaded, spread over the team), and the inverse transform back to pixels or kernel taps. The forward
// product and its adjoint in the image are the same correlation (the adjoint's filter flipped and its channels
// swapped); the adjoint in the weights correlates the image with blocks of the output gradient.
#include "kernels/cpu/conv_winograd.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#ifdef __AVX512F__
#include <immintrin.h>
#endif
#include "kernels/cpu/thread_scratch.h"
#include "kernels/cpu/vec.h"

namespace asyndgan::kern::cpu {
namespace {

using V = Vec<float>;
constexpr int kLanes = lanes<float>;
constexpr int kMaxN = kWinogradMaxTile;

int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// The first `count` floats at p in the low lanes, zeros above: the last group of tiles or channels is partial.
V load_lanes(const float* p, int64_t count) {
  V v = {};
  std::memcpy(&v, p, static_cast<size_t>(std::min<int64_t>(count, kLanes)) * sizeof(float));
  return v;
}

// out (ro x ro) = M in M^T for M (ro x ci) and in (ci x ci), on every lane at once.
void sandwich(const float* mat, int ro, int ci, const V* in, V* out) {
  V tmp[kMaxN * kMaxN];
  for (int a = 0; a < ro; ++a)
    for (int j = 0; j < ci; ++j) {
      V s = {};
      for (int i = 0; i < ci; ++i) s += mat[a * ci + i] * in[i * ci + j];
      tmp[a * ci + j] = s;
    }
  for (int a = 0; a < ro; ++a)
    for (int b = 0; b < ro; ++b) {
      V s = {};
      for (int j = 0; j < ci; ++j) s += tmp[a * ci + j] * mat[b * ci + j];
      out[a * ro + b] = s;
    }
}

// Gauss-Jordan inverse of an n x n matrix with partial pivoting, in place (Vandermonde matrices of distinct points:
// never singular).
void invert(double* a, int n) {
  double inv[kMaxN * kMaxN] = {};
  for (int i = 0; i < n; ++i) inv[i * n + i] = 1;
  for (int c = 0; c < n; ++c) {
    int piv = c;
    for (int r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[piv * n + c])) piv = r;
    for (int k = 0; k < n; ++k) std::swap(a[c * n + k], a[piv * n + k]), std::swap(inv[c * n + k], inv[piv * n + k]);
    const double d = a[c * n + c];
    for (int k = 0; k < n; ++k) a[c * n + k] /= d, inv[c * n + k] /= d;
    for (int r = 0; r < n; ++r) {
      if (r == c || a[r * n + c] == 0) continue;
      const double f = a[r * n + c];
      for (int k = 0; k < n; ++k) a[r * n + k] -= f * a[c * n + k], inv[r * n + k] -= f * inv[c * n + k];
    }
  }
  std::copy(inv, inv + n * n, a);
}

// Rows of the Vandermonde-like evaluation matrix (n x cols): p^k at the finite points, the leading coefficient
// (e_{cols-1}) at infinity, the last point.
void evaluation_rows(const double* points, int n, int cols, double* out) {
  for (int j = 0; j < n; ++j)
    for (int k = 0; k < cols; ++k) {
      double v = 1;
      for (int e = 0; e < k; ++e) v *= points[j];
      out[j * cols + k] = j == n - 1 ? (k == cols - 1 ? 1.0 : 0.0) : v;
    }
}

// Tiles laid over a batch of images in steps of `step`, tiles_h x tiles_w per image, numbered image by image.
struct TileGrid {
  int64_t batch, tiles_h, tiles_w;
  int64_t count() const { return batch * tiles_h * tiles_w; }
};

// Where each tile's window starts: its image and its top-left pixel (ty * step - offset, tx * step - offset),
// which may hang over the image's edge. Computed once per call rather than divided out per tile and channel.
struct TileCorner {
  int64_t image, y, x;
};
std::vector<TileCorner> tile_corners(const TileGrid& grid, int64_t step, int64_t offset) {
  std::vector<TileCorner> out;
  out.reserve(static_cast<size_t>(grid.count()));
  for (int64_t b = 0; b < grid.batch; ++b)
    for (int64_t ty = 0; ty < grid.tiles_h; ++ty)
      for (int64_t tx = 0; tx < grid.tiles_w; ++tx) out.push_back({b, ty * step - offset, tx * step - offset});
  return out;
}

// Lane l = base[index[l]] for l < count, zero above: 16 tiles' same window entry, or 16 filters' same tap.
V gather_indexed(const float* base, const int32_t* index, int64_t count) {
#ifdef __AVX512F__
  const __m512i idx = _mm512_loadu_si512(index);
  const __mmask16 mask = count >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1);
  const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, idx, base, 4);
  V out;
  std::memcpy(&out, &v, sizeof out);
  return out;
#else
  V out = {};
  for (int64_t l = 0; l < std::min<int64_t>(count, kLanes); ++l) out[l] = base[index[l]];
  return out;
#endif
}

// planes[c][xi][t] (row stride ld) = M d M^T for M (n x size) and the size x size window d of channel c of src
// [batch, channels, h, w] at each tile's corner; zero outside the image. M is BT for the data windows, G for
// blocks of the output gradient that act as filters. The windows are read from a copy of src with a zero border
// wide enough for all of them, so every lane is one gather from precomputed offsets, with no bounds to test.
void transform_windows(const float* src, int64_t channels, int64_t h, int64_t w, const std::vector<TileCorner>& corners,
                       const float* mat, int n, int size, float* planes, int64_t ld) {
  const int64_t tiles = static_cast<int64_t>(corners.size()), batch = corners.back().image + 1;
  int64_t y_lo = 0, x_lo = 0, y_hi = h, x_hi = w;
  for (const TileCorner& tc : corners) {
    y_lo = std::min(y_lo, tc.y), x_lo = std::min(x_lo, tc.x);
    y_hi = std::max(y_hi, tc.y + size), x_hi = std::max(x_hi, tc.x + size);
  }
  const int64_t ph = y_hi - y_lo, pw = x_hi - x_lo, plane = ph * pw;
  float* padded = aligned_thread_buffer<float, 7>(batch * channels * plane);
#pragma omp parallel for schedule(static) num_threads(copy_threads())
  for (int64_t bc = 0; bc < batch * channels; ++bc) {
    float* out = padded + bc * plane;
    std::fill(out, out + plane, 0.0f);
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(out + (y - y_lo) * pw - x_lo, src + (bc * h + y) * w, static_cast<size_t>(w) * sizeof(float));
  }
  // Where each tile's window starts in channel 0's copy (its image's planes are channels * plane apart); 32-bit
  // offsets for the gathers, which winograd_fits guarantees are enough.
  std::vector<int32_t> offset(static_cast<size_t>(round_up(tiles, kLanes)), 0);
  for (int64_t t = 0; t < tiles; ++t) {
    const TileCorner& tc = corners[static_cast<size_t>(t)];
    offset[static_cast<size_t>(t)] =
        static_cast<int32_t>(tc.image * channels * plane + (tc.y - y_lo) * pw + (tc.x - x_lo));
  }
#pragma omp parallel for schedule(static) num_threads(copy_threads())
  for (int64_t c = 0; c < channels; ++c) {
    const float* base = padded + c * plane;
    V d[kMaxN * kMaxN], v[kMaxN * kMaxN];
    for (int64_t t0 = 0; t0 < tiles; t0 += kLanes) {
      for (int i = 0; i < size; ++i)
        for (int j = 0; j < size; ++j) d[i * size + j] = gather_indexed(base + i * pw + j, &offset[t0], tiles - t0);
      sandwich(mat, n, size, d, v);
      for (int k = 0; k < n * n; ++k) std::memcpy(planes + (c * n * n + k) * ld + t0, &v[k], sizeof(V));
    }
  }
}

// The correlation dst[b][o][y][x] = sum over s, ky, kx of f(o, s, ky, kx) src[b][s][y + ky - pad][x + kx - pad]
// (zero outside src) for an r x r filter read from the weight matrix wm: f = wm[o][s][ky][kx] (the forward
// product), or with `adjoint` f = wm[s][o][r-1-ky][r-1-kx] (its adjoint in the image).
struct Correlation {
  const float* src;
  int64_t batch, src_channels, src_h, src_w, pad;
  const float* wm;
  bool adjoint;
  int64_t dst_channels, dst_h, dst_w, r;
};

void correlate(const Correlation& c, float* dst) {
  const int r = static_cast<int>(c.r);
  const WinogradPlan plan = winograd_plan(winograd_tile(r, c.dst_h, c.dst_w, c.batch), r);
  const int m = plan.m, n = plan.n, nn = n * n;
  const TileGrid grid{c.batch, ceil_div(c.dst_h, m), ceil_div(c.dst_w, m)};
  const int64_t tiles = grid.count();
  const std::vector<TileCorner> corners = tile_corners(grid, m, 0);  // of the output tiles
  const int64_t tp = round_up(tiles, kLanes);
  const int64_t so = c.src_channels, o_ch = c.dst_channels, taps = c.r * c.r;
  // Plane xi of each is a strided matrix (row stride nn * columns): the transforms write, and the inverse reads,
  // all planes of one row at once, which then lie together in memory. The transformed filters are stored as
  // [o][xi][s] for the forward product and [s][xi][o] (the GEMM reads it transposed) for the adjoint: either way
  // the 16 filters of one lane group are adjacent in wm, taps apart.
  const int64_t lane_dim = c.adjoint ? o_ch : so, other_dim = c.adjoint ? so : o_ch, lp = round_up(lane_dim, kLanes);
  float* filters = aligned_thread_buffer<float, 4>(other_dim * nn * lp);
  float* patches = aligned_thread_buffer<float, 5>(so * nn * tp);     // [s][xi][t]
  float* products = aligned_thread_buffer<float, 6>(o_ch * nn * tp);  // [o][xi][t]

  int32_t filter_offset[kLanes];  // the lane group's filters are adjacent in wm, taps apart
  for (int l = 0; l < kLanes; ++l) filter_offset[l] = static_cast<int32_t>(l * taps);
#pragma omp parallel for schedule(static) num_threads(copy_threads())
  for (int64_t row = 0; row < other_dim; ++row) {
    V g[kMaxN * kMaxN], u[kMaxN * kMaxN];
    for (int64_t l0 = 0; l0 < lane_dim; l0 += kLanes) {
      // Filter (o, s) is wm[o][s] (forward), or wm[s][o] flipped in both axes (adjoint: tap k read from
      // taps - 1 - k); the row index is wm's first, the lane index its second.
      const float* first = c.wm + (row * lane_dim + l0) * taps;
      for (int k = 0; k < r * r; ++k)
        g[k] = gather_indexed(first + (c.adjoint ? taps - 1 - k : k), filter_offset, lane_dim - l0);
      sandwich(plan.g, n, r, g, u);  // G g G^T: plan.g is n x r
      for (int k = 0; k < nn; ++k) std::memcpy(filters + (row * nn + k) * lp + l0, &u[k], sizeof(V));
    }
  }
  transform_windows(c.src, so, c.src_h, c.src_w, tile_corners(grid, m, c.pad), plan.bt, n, n, patches, tp);

#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads())
  for (int k = 0; k < nn; ++k)
    gemm<float>(c.adjoint, false, o_ch, tiles, so, 1.0f, filters + k * lp, nn * lp, patches + k * tp, nn * tp, 0.0f,
                products + k * tp, nn * tp);

#pragma omp parallel for schedule(static) num_threads(copy_threads())
  for (int64_t o = 0; o < o_ch; ++o) {
    V p[kMaxN * kMaxN], y[kMaxN * kMaxN];
    for (int64_t t0 = 0; t0 < tiles; t0 += kLanes) {
      for (int k = 0; k < nn; ++k) p[k] = load_lanes(products + (o * nn + k) * tp + t0, tiles - t0);
      sandwich(plan.at, m, n, p, y);
      alignas(64) float lanes_out[kMaxN * kMaxN][kLanes];
      for (int k = 0; k < m * m; ++k) std::memcpy(lanes_out[k], &y[k], sizeof(V));
      for (int l = 0; l < kLanes && t0 + l < tiles; ++l) {
        const TileCorner& tc = corners[static_cast<size_t>(t0 + l)];
        float* image = dst + (tc.image * o_ch + o) * c.dst_h * c.dst_w + tc.y * c.dst_w + tc.x;
        const int64_t rows = std::min<int64_t>(m, c.dst_h - tc.y), cols = std::min<int64_t>(m, c.dst_w - tc.x);
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) image[i * c.dst_w + j] = lanes_out[i * m + j][l];
      }
    }
  }
}

}  // namespace

WinogradPlan winograd_plan(int m, int r) {
  WinogradPlan p;
  p.m = m, p.r = r, p.n = m + r - 1;
  const int n = p.n;
  // Small points keep the transforms' coefficients near 1: the f32 error grows with their spread.
  static constexpr double kPoints[kMaxN - 1] = {0.0, 1.0, -1.0, 0.5, -0.5};
  double pts[kMaxN];
  for (int j = 0; j < n - 1; ++j) pts[j] = kPoints[j];
  pts[n - 1] = 0;  // infinity: evaluation_rows gives it the leading-coefficient row
  double vand[kMaxN * kMaxN], g[kMaxN * kMaxN], u[kMaxN * kMaxN];
  evaluation_rows(pts, n, n, vand);
  evaluation_rows(pts, n, r, g);
  evaluation_rows(pts, n, m, u);
  invert(vand, n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) p.at[i * n + j] = static_cast<float>(u[j * m + i]);
  for (int i = 0; i < n * r; ++i) p.g[i] = static_cast<float>(g[i]);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) p.bt[i * n + j] = static_cast<float>(vand[j * n + i]);
  return p;
}

int winograd_tile(int r, int64_t out_h, int64_t out_w, int64_t batch) {
  int best = 0;
  int64_t best_cost = static_cast<int64_t>(r) * r * out_h * out_w * batch * 3 / 4;  // the lowered path, less a margin
  for (int m = 2; m + r - 1 <= kMaxN; ++m) {
    const int64_t n = m + r - 1, cost = n * n * (batch * ceil_div(out_h, m) * ceil_div(out_w, m) + kWinogradFilterCost);
    if (cost < best_cost) best = m, best_cost = cost;
  }
  return best;
}

bool winograd_fits(int64_t rows, const ConvGeometry& g, int64_t batch, WinogradPass pass) {
  if (g.stride_h != 1 || g.stride_w != 1 || g.kernel_h != g.kernel_w || (g.kernel_h != 3 && g.kernel_h != 4) ||
      g.pad_h != g.pad_w || g.pad_h >= g.kernel_h ||
      rows < kWinogradMinChannels || g.channels < kWinogradMinChannels || g.out_h < 2 || g.out_w < 2)
    return false;
  // transform_windows gathers through 32-bit offsets into a zero-bordered copy of its source (the image or the
  // output-shaped operand, with a border under kMaxN): it must fit them.
  const int64_t span = (std::max(g.height, g.out_h) + 2 * kMaxN) * (std::max(g.width, g.out_w) + 2 * kMaxN);
  if (batch * std::max(rows, g.channels) * span >= INT32_MAX) return false;
  // The scatter's outputs are the image's pixels. The weight gradient's are the r x r taps, and blocks of the
  // output gradient are its filters: a block is its tile, n = r + block - 1 again, the same model.
  const bool over_image = pass == WinogradPass::scatter;
  return winograd_tile(static_cast<int>(g.kernel_h), over_image ? g.height : g.out_h, over_image ? g.width : g.out_w,
                       batch) > 0;
}

void winograd_multiply(const float* image, const float* wm, int64_t rows, const ConvGeometry& g, int64_t batch,
                       float* out) {
  correlate({image, batch, g.channels, g.height, g.width, g.pad_h, wm, false, rows, g.out_h, g.out_w, g.kernel_h},
            out);
}

void winograd_scatter(const float* in, const float* wm, int64_t rows, const ConvGeometry& g, int64_t batch,
                      float* image) {
  // image[y] = sum_k w[k] in[y - k + pad] = sum_k' w[r-1-k'] in[y + k' - (r-1-pad)]: a correlation of the
  // output-shaped input padded by r-1-pad with the flipped filter.
  correlate({in, batch, rows, g.out_h, g.out_w, g.kernel_h - 1 - g.pad_h, wm, true, g.channels, g.height, g.width,
             g.kernel_h},
            image);
}

void winograd_weight_gradient(const float* image, const float* in, int64_t rows, const ConvGeometry& g,
                              int64_t batch, float* dwm) {
  // dW[ky][kx] = sum over output pixels of in[oy][ox] image[oy + ky - pad][ox + kx - pad]: per block of
  // mb x mb output pixels, an F(r, mb) correlation whose filter is the block of `in`; the blocks' transformed
  // products sum in the transformed domain (one GEMM per plane over all blocks), then one inverse per tap set.
  const int r = static_cast<int>(g.kernel_h);
  const int mb = winograd_tile(r, g.out_h, g.out_w, batch);  // blocks of mb x mb output pixels
  const WinogradPlan plan = winograd_plan(r, mb);
  const int n = plan.n, nn = n * n;
  const TileGrid grid{batch, ceil_div(g.out_h, mb), ceil_div(g.out_w, mb)};
  const int64_t tiles = grid.count();
  const int64_t tp = round_up(tiles, kLanes), cp = round_up(g.channels, kLanes), taps = r * r;
  const int64_t k_cols = g.channels * taps;
  float* blocks = aligned_thread_buffer<float, 4>(rows * nn * tp);         // [co][xi][t]
  float* patches = aligned_thread_buffer<float, 5>(g.channels * nn * tp);  // [ci][xi][t]
  float* sums = aligned_thread_buffer<float, 6>(rows * nn * cp);           // [co][xi][ci]

  transform_windows(in, rows, g.out_h, g.out_w, tile_corners(grid, mb, 0), plan.g, n, mb, blocks, tp);
  transform_windows(image, g.channels, g.height, g.width, tile_corners(grid, mb, g.pad_h), plan.bt, n, n, patches, tp);

#pragma omp parallel for schedule(dynamic, 1) num_threads(copy_threads())
  for (int k = 0; k < nn; ++k)
    gemm<float>(false, true, rows, g.channels, tiles, 1.0f, blocks + k * tp, nn * tp, patches + k * tp, nn * tp, 0.0f,
                sums + k * cp, nn * cp);

#pragma omp parallel for schedule(static) num_threads(copy_threads())
  for (int64_t co = 0; co < rows; ++co) {
    V s[kMaxN * kMaxN], w[kMaxN * kMaxN];
    alignas(64) float taps_out[kMaxN * kMaxN][kLanes];
    for (int64_t c0 = 0; c0 < g.channels; c0 += kLanes) {
      for (int k = 0; k < nn; ++k) s[k] = load_lanes(sums + (co * nn + k) * cp + c0, g.channels - c0);
      sandwich(plan.at, r, n, s, w);
      for (int k = 0; k < taps; ++k) std::memcpy(taps_out[k], &w[k], sizeof(V));
      for (int l = 0; l < kLanes && c0 + l < g.channels; ++l)
        for (int k = 0; k < taps; ++k) dwm[co * k_cols + (c0 + l) * taps + k] = taps_out[k][l];
    }
  }
}

}  // namespace asyndgan::kern::cpu
