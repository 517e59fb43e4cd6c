// The phantom's MR images: tissue intensities per modality, then one site's scanner (blur, bias field, Rician
// noise, gamma, gain), with the background outside the head left exactly 0.
#include <algorithm>
#include <cmath>
#include "data/phantom.h"
#include "data/phantom_random.h"
#include "base/error.h"

namespace asyndgan::data {

using namespace phantom_detail;

namespace {

// Relative intensities (white matter's T1 = 1), in Tissue order: background, scalp, skull, CSF, grey, white,
// necrosis, edema, enhancing. T1: WM > GM > CSF, the core dark; T1ce: T1 with a bright enhancing rim;
// T2: fluid brightest, WM darker than GM, edema bright; FLAIR: fluid suppressed, edema brightest.
constexpr float kIntensity[4][kTissueCount] = {
    {0.0f, 0.95f, 0.10f, 0.28f, 0.68f, 1.00f, 0.30f, 0.55f, 0.62f},  // t1
    {0.0f, 0.95f, 0.10f, 0.30f, 0.70f, 1.00f, 0.30f, 0.57f, 1.45f},  // t1ce
    {0.0f, 0.65f, 0.06f, 1.00f, 0.62f, 0.45f, 0.90f, 0.85f, 0.70f},  // t2
    {0.0f, 0.70f, 0.06f, 0.12f, 0.66f, 0.52f, 0.55f, 1.00f, 0.80f},  // flair
};

// Voxel ranges [lo, hi) along each axis.
struct Box {
  std::array<int64_t, 3> lo, hi;
};

// The smallest box holding every non-background voxel, grown by `margin` (clamped to the volume).
Box head_box(const std::vector<uint8_t>& tissue, const std::array<int64_t, 3>& n, int64_t margin) {
  Box b{{n[0], n[1], n[2]}, {0, 0, 0}};
  for (int64_t z = 0; z < n[2]; ++z)
    for (int64_t y = 0; y < n[1]; ++y) {
      const uint8_t* row = &tissue[static_cast<size_t>(n[0] * (y + n[1] * z))];
      for (int64_t x = 0; x < n[0]; ++x)
        if (row[x]) {
          b.lo = {std::min(b.lo[0], x), std::min(b.lo[1], y), std::min(b.lo[2], z)};
          b.hi = {std::max(b.hi[0], x + 1), std::max(b.hi[1], y + 1), std::max(b.hi[2], z + 1)};
        }
    }
  for (int a = 0; a < 3; ++a) {
    b.lo[a] = std::max<int64_t>(0, b.lo[a] - margin);
    b.hi[a] = std::min(n[a], b.hi[a] + margin);
  }
  return b;
}

// Separable Gaussian inside `box`; everything outside it is zero (background) and stays zero.
void gaussian_blur(std::vector<float>& img, const std::array<int64_t, 3>& n, const Box& box, double sigma) {
  const int R = static_cast<int>(std::ceil(2.5 * sigma));
  std::vector<float> w(2 * R + 1);
  float total = 0;
  for (int k = -R; k <= R; ++k) total += w[k + R] = static_cast<float>(std::exp(-0.5 * k * k / (sigma * sigma)));
  for (float& v : w) v /= total;
  const int64_t nx = n[0], ny = n[1], plane = nx * ny;
  const int64_t x0 = box.lo[0], x1 = box.hi[0], y0 = box.lo[1], y1 = box.hi[1], z0 = box.lo[2], z1 = box.hi[2];
  const int64_t width = x1 - x0;
  std::vector<float> tmp(img.size());
  // Along x, then y (both within a z-plane), then z; each pass reads one buffer and writes the other.
#pragma omp parallel for schedule(static)
  for (int64_t z = z0; z < z1; ++z)
    for (int64_t y = y0; y < y1; ++y) {
      const float* in = &img[static_cast<size_t>(plane * z + nx * y)];
      float* out = &tmp[static_cast<size_t>(plane * z + nx * y)];
      for (int64_t x = x0; x < x1; ++x) {
        float acc = 0;
        for (int64_t k = std::max<int64_t>(-R, x0 - x); k <= R && x + k < x1; ++k) acc += w[k + R] * in[x + k];
        out[x] = acc;
      }
    }
#pragma omp parallel for schedule(static)
  for (int64_t z = z0; z < z1; ++z)
    for (int64_t y = y0; y < y1; ++y) {
      float* out = &img[static_cast<size_t>(plane * z + nx * y + x0)];
      std::fill(out, out + width, 0.0f);
      for (int64_t k = std::max<int64_t>(-R, y0 - y); k <= R && y + k < y1; ++k) {
        const float* in = &tmp[static_cast<size_t>(plane * z + nx * (y + k) + x0)];
        const float wk = w[k + R];
        for (int64_t x = 0; x < width; ++x) out[x] += wk * in[x];
      }
    }
#pragma omp parallel for schedule(static)
  for (int64_t z = z0; z < z1; ++z)
    for (int64_t y = y0; y < y1; ++y) {
      float* out = &tmp[static_cast<size_t>(plane * z + nx * y + x0)];
      std::fill(out, out + width, 0.0f);
      for (int64_t k = std::max<int64_t>(-R, z0 - z); k <= R && z + k < z1; ++k) {
        const float* in = &img[static_cast<size_t>(plane * (z + k) + nx * y + x0)];
        const float wk = w[k + R];
        for (int64_t x = 0; x < width; ++x) out[x] += wk * in[x];
      }
    }
  img.swap(tmp);
}

// gain * x^gamma by table lookup with linear interpolation (pow per voxel was the slowest step); exact pow
// beyond the table. Step 1/4096 keeps the interpolation error far below the output's rounding to integers.
class GammaCurve {
 public:
  GammaCurve(float gamma, float gain) : gamma_(gamma), gain_(gain), table_(kSize + 2) {
    for (int i = 0; i < kSize + 2; ++i) table_[i] = gain * std::pow(static_cast<float>(i) / kPerUnit, gamma);
  }
  float operator()(float x) const {
    const float g = x * kPerUnit;
    if (!(g < kSize)) return gain_ * std::pow(x, gamma_);
    const int i = static_cast<int>(g);
    return table_[i] + (table_[i + 1] - table_[i]) * (g - static_cast<float>(i));
  }

 private:
  static constexpr int kPerUnit = 4096, kSize = 4 * kPerUnit;
  float gamma_, gain_;
  std::vector<float> table_;
};

}  // namespace

PhantomScanner phantom_scanner(const PhantomOptions& opt, int site) {
  Stream s(opt.seed, Purpose::scanner, static_cast<uint32_t>(site));
  PhantomScanner sc{};
  sc.bias_amplitude = s.uniform(0.15, 0.45);
  sc.noise_sigma = s.uniform(0.015, 0.06);
  sc.gamma = s.uniform(0.85, 1.2);
  sc.blur_sigma = s.uniform(0.0, 1.0);
  if (sc.blur_sigma < 0.3) sc.blur_sigma = 0;  // below this a 1-voxel kernel is practically the identity
  const double base = s.uniform(400, 1100);
  for (double& g : sc.gain) g = base * s.uniform(0.8, 1.25);
  return sc;
}

Volume phantom_image(const PhantomOptions& opt, int site, int subject, int modality,
                     const std::vector<uint8_t>& tissue) {
  if (modality < 0 || modality >= 4) throw ValueError(msg("phantom_image: modality index ", modality, " not in 0..3"));
  const auto& n = opt.size;
  Volume vol = make_volume(n);
  vol.affine = brats_affine();
  if (static_cast<int64_t>(tissue.size()) != vol.size())
    throw ShapeError(msg("phantom_image: tissue map has ", tissue.size(), " voxels, size needs ", vol.size()));
  const PhantomScanner sc = phantom_scanner(opt, site);
  std::vector<float>& img = vol.voxels;
  const float* table = kIntensity[modality];
  const int64_t total = vol.size();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) img[static_cast<size_t>(i)] = table[tissue[static_cast<size_t>(i)]];
  if (sc.blur_sigma > 0)
    gaussian_blur(img, n, head_box(tissue, n, static_cast<int64_t>(std::ceil(2.5 * sc.blur_sigma))), sc.blur_sigma);

  // The coil's bias field depends on the position in the field of view, not on the head: fixed per site.
  const SmoothNoise bias(stream_key(opt.seed, Purpose::bias, static_cast<uint32_t>(site), static_cast<uint32_t>(modality)),
                         2, 1.0);
  const PhiloxKey noise_key =
      stream_key(opt.seed, Purpose::rician, static_cast<uint32_t>(site), static_cast<uint32_t>(4 * subject + modality));
  const float amp = static_cast<float>(sc.bias_amplitude), sigma = static_cast<float>(sc.noise_sigma);
  const GammaCurve curve(static_cast<float>(sc.gamma), static_cast<float>(sc.gain[modality]));
  const int64_t nx = n[0], ny = n[1], nz = n[2];
  auto fov = [](int64_t i, int64_t len) { return len > 1 ? 2.0 * i / (len - 1) - 1.0 : 0.0; };
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y) {
      const int64_t row = nx * (y + ny * z);
      uint64_t have = ~uint64_t{0};
      Philox4 block{};
      for (int64_t x = 0; x < nx; ++x) {
        const int64_t i = row + x;
        float& v = img[static_cast<size_t>(i)];
        if (tissue[static_cast<size_t>(i)] == static_cast<uint8_t>(Tissue::background)) {
          v = 0.0f;
          continue;
        }
        const float field = std::exp(amp * bias(fov(x, nx), fov(y, ny), fov(z, nz)));
        // Rician: the magnitude of the signal plus complex Gaussian noise, one Philox block per voxel pair.
        const uint64_t b = static_cast<uint64_t>(i) >> 1;
        if (b != have) block = philox_block(noise_key, have = b);
        const int p = static_cast<int>(i & 1);
        const float u1 = (static_cast<float>(block.v[2 * p] >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]
        const float radius = sigma * std::sqrt(-2.0f * std::log(u1)),
                    theta = 6.2831853f * uniform01(block.v[2 * p + 1]);
        const float re = v * field + radius * std::cos(theta), im = radius * std::sin(theta);
        const float mag = std::sqrt(re * re + im * im);
        // Inside the head every voxel stays >= 1, so "any modality > 0" finds the head after noise.
        v = std::clamp(std::nearbyint(curve(mag)), 1.0f, 32767.0f);
      }
    }
  return vol;
}

}  // namespace asyndgan::data
