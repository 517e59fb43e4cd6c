// Winograd minimal-filtering drivers (Lavin & Gray, 2016) for the CPU's f32 stride-1 convolutions with 3x3 and
// 4x4 kernels (the PatchGAN's 256->512 layer, the ResNet generator's blocks): an m x m output tile of an r x r
// correlation costs (m+r-1)^2 multiplies in a transformed domain instead of m^2 r^2, 4x fewer for F(3x3, 4x4).
#pragma once
#include <cstdint>
#include "kernels/cpu/conv.h"

namespace asyndgan::kern::cpu {

// Which product a Winograd driver would compute: the forward one, its adjoint in the image, in the weights.
enum class WinogradPass { forward, scatter, weight_gradient };

// Whether the Winograd driver of `pass` takes the problem (when the caller allows Winograd at all): stride 1, a
// square 3x3 or 4x4 kernel with the same padding on both axes and below the kernel size, at least
// kWinogradMinChannels on both sides, and enough tiles that the cost model (winograd_tile) expects it faster than the lowered GEMM. f32 only:
// callers check the type.
constexpr int64_t kWinogradMinChannels = 32;
bool winograd_fits(int64_t rows, const ConvGeometry& g, int64_t batch, WinogradPass pass);

// The tile size m (outputs per tile side) that minimizes the modeled cost of an r x r correlation with m x m
// tiles over a batch of out_h x out_w outputs, or 0 when the lowered GEMM's r^2 multiplies per output are
// expected cheaper. Per pair of channels Winograd costs n^2 (tiles + kWinogradFilterCost) with n = m + r - 1:
// the products, and transforming the filter (or inverting the summed planes), which costs as much as about
// kWinogradFilterCost more tiles (measured: 512 x 256 channels, 4x4 kernels, 7x7 and 15x15 outputs).
constexpr int64_t kWinogradFilterCost = 75;
int winograd_tile(int r, int64_t out_h, int64_t out_w, int64_t batch);

// The same contracts as lower_multiply, multiply_scatter and weight_gradient (kernels/cpu/conv_lowered.h) for a
// problem winograd_fits takes. Each output element is summed in an order fixed by the shapes: the bits do not
// depend on the thread count.
void winograd_multiply(const float* image, const float* wm, int64_t rows, const ConvGeometry& g, int64_t batch,
                       float* out);
void winograd_scatter(const float* in, const float* wm, int64_t rows, const ConvGeometry& g, int64_t batch,
                      float* image);
void winograd_weight_gradient(const float* image, const float* in, int64_t rows, const ConvGeometry& g,
                              int64_t batch, float* dwm);

// F(m, r), one dimension: the m outputs y_i = sum_k g_k d_(i+k) of an r-tap correlation over n = m + r - 1 inputs
// are y = AT [(G g) .* (BT d)]; in two dimensions Y = AT [(G g G^T) .* (BT d BT^T)] AT^T. Built by Toom-Cook
// from the interpolation points 0, +-1, +-1/2 and infinity. Row-major, n at most kWinogradMaxTile.
constexpr int kWinogradMaxTile = 6;
struct WinogradPlan {
  int m = 0, r = 0, n = 0;
  float at[kWinogradMaxTile * kWinogradMaxTile] = {};  // m x n
  float g[kWinogradMaxTile * kWinogradMaxTile] = {};   // n x r
  float bt[kWinogradMaxTile * kWinogradMaxTile] = {};  // n x n
};
WinogradPlan winograd_plan(int m, int r);

}  // namespace asyndgan::kern::cpu
