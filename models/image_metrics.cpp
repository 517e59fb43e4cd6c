// PSNR and SSIM in double precision. SSIM filters the five local moments (x, y, x^2, y^2, xy) with the
// separable Gaussian, horizontally over every row and then vertically, keeping only full windows.
#include "models/image_metrics.h"
#include <array>
#include <cmath>
#include <limits>
#include <vector>
#include "base/error.h"

namespace asyndgan::models {
namespace {

constexpr int kWin = 11, kRadius = kWin / 2;

std::array<double, kWin> gaussian_window() {
  std::array<double, kWin> g{};
  double sum = 0;
  for (int i = 0; i < kWin; ++i) sum += g[i] = std::exp(-0.5 * (i - kRadius) * (i - kRadius) / (1.5 * 1.5));
  for (double& v : g) v /= sum;
  return g;
}

}  // namespace

double psnr(const float* a, const float* b, size_t n, double data_range, const uint8_t* mask) {
  if (n == 0 || !(data_range > 0)) throw ValueError(msg("psnr: ", n, " values with data range ", data_range, "; need n > 0 and range > 0"));
  double sum = 0;
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    if (mask && !mask[i]) continue;
    const double d = static_cast<double>(a[i]) - b[i];
    sum += d * d;
    ++count;
  }
  if (count == 0) throw ValueError("psnr: the mask selects no pixels");
  if (sum == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / (sum / static_cast<double>(count)));
}

double ssim(const float* a, const float* b, int height, int width, double data_range, const uint8_t* mask) {
  if (height < kWin || width < kWin)
    throw ValueError(msg("ssim: image ", height, "x", width, " is smaller than the 11x11 window"));
  if (!(data_range > 0)) throw ValueError(msg("ssim: data range ", data_range, " must be > 0"));
  static const std::array<double, kWin> g = gaussian_window();
  const double c1 = (0.01 * data_range) * (0.01 * data_range), c2 = (0.03 * data_range) * (0.03 * data_range);
  const int ow = width - kWin + 1, oh = height - kWin + 1;
  // Horizontal pass: 5 moments for every row and every valid window column.
  std::vector<std::array<double, 5>> h(static_cast<size_t>(height) * ow);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < ow; ++x) {
      std::array<double, 5> m{};
      for (int k = 0; k < kWin; ++k) {
        const size_t i = static_cast<size_t>(y) * width + x + k;
        const double va = a[i], vb = b[i], w = g[k];
        m[0] += w * va, m[1] += w * vb, m[2] += w * va * va, m[3] += w * vb * vb, m[4] += w * va * vb;
      }
      h[static_cast<size_t>(y) * ow + x] = m;
    }
  double total = 0;
  size_t count = 0;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      if (mask && !mask[static_cast<size_t>(y + kRadius) * width + x + kRadius]) continue;
      std::array<double, 5> m{};
      for (int k = 0; k < kWin; ++k) {
        const auto& r = h[static_cast<size_t>(y + k) * ow + x];
        for (int j = 0; j < 5; ++j) m[j] += g[k] * r[j];
      }
      const double mx = m[0], my = m[1];
      const double vx = m[2] - mx * mx, vy = m[3] - my * my, cov = m[4] - mx * my;
      total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      ++count;
    }
  if (count == 0) throw ValueError("ssim: the mask selects no window centre (centres lie 5 pixels inside the border)");
  return total / static_cast<double>(count);
}

}  // namespace asyndgan::models
