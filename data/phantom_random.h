// The phantom's randomness (internal): Philox streams named by (seed, purpose, a, b), so every subject, site
// and modality draws independently of the others and of the thread count, and smooth value noise built on them.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include "kernels/common/philox.h"

namespace asyndgan::data::phantom_detail {

enum class Purpose : uint32_t { shape = 1, brain_noise, fold_noise, fold_depth, tumor, tumor_noise, scanner, bias, rician };

// The key of stream (purpose, a, b) under `seed`: one Philox block of the seed's key hashes the name.
inline kern::PhiloxKey stream_key(uint64_t seed, Purpose p, uint32_t a, uint32_t b) {
  kern::Philox4 h = kern::philox4x32_10(kern::Philox4{{static_cast<uint32_t>(p), a, b, 0x5eed1234u}},
                                        kern::philox_key(seed));
  return {h.v[0] ^ h.v[2], h.v[1] ^ h.v[3]};
}

// Sequential uniforms from one stream (for the handful of per-subject and per-site parameters).
class Stream {
 public:
  Stream(uint64_t seed, Purpose p, uint32_t a = 0, uint32_t b = 0) : key_(stream_key(seed, p, a, b)) {}
  kern::PhiloxKey key() const { return key_; }
  uint32_t next_word() {
    if (word_ == 4) {
      cur_ = kern::philox_block(key_, block_++);
      word_ = 0;
    }
    return cur_.v[word_++];
  }
  double uniform() { return kern::uniform01(next_word()); }              // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double symmetric() { return uniform(-1.0, 1.0); }

 private:
  kern::PhiloxKey key_;
  uint64_t block_ = 0;
  int word_ = 4;
  kern::Philox4 cur_{};
};

// Value noise: uniform [-1, 1] values on a lattice of `cells` cells along each axis over [-extent, extent]^3,
// blended with a quintic fade, so it is smooth (C2) with features about 2 * extent / cells wide.
class SmoothNoise {
 public:
  SmoothNoise(kern::PhiloxKey key, int cells, double extent = 1.25)
      : n_(cells + 2), scale_(cells / (2.0 * extent)), extent_(extent) {
    values_.resize(static_cast<size_t>(n_) * n_ * n_);
    for (size_t i = 0; i < values_.size(); ++i)
      values_[i] = 2.0f * kern::uniform01(kern::philox_word(key, 0, i)) - 1.0f;
  }
  // Coordinates outside [-extent, extent] are clamped to it.
  float operator()(double x, double y, double z) const {
    double gx = lattice(x), gy = lattice(y), gz = lattice(z);
    int ix = static_cast<int>(gx), iy = static_cast<int>(gy), iz = static_cast<int>(gz);
    float fx = fade(static_cast<float>(gx - ix)), fy = fade(static_cast<float>(gy - iy)),
          fz = fade(static_cast<float>(gz - iz));
    const float* p = &values_[static_cast<size_t>(ix + n_ * (iy + n_ * iz))];
    const int sy = n_, sz = n_ * n_;
    auto lerp = [](float a, float b, float t) { return a + (b - a) * t; };
    return lerp(lerp(lerp(p[0], p[1], fx), lerp(p[sy], p[sy + 1], fx), fy),
                lerp(lerp(p[sz], p[sz + 1], fx), lerp(p[sz + sy], p[sz + sy + 1], fx), fy), fz);
  }
  // The value and its gradient (per coordinate unit; zero where clamped), from the same eight lattice values.
  float value_and_gradient(double x, double y, double z, float grad[3]) const {
    double gx = lattice(x), gy = lattice(y), gz = lattice(z);
    int ix = static_cast<int>(gx), iy = static_cast<int>(gy), iz = static_cast<int>(gz);
    float fx = fade(static_cast<float>(gx - ix)), fy = fade(static_cast<float>(gy - iy)),
          fz = fade(static_cast<float>(gz - iz));
    const float* p = &values_[static_cast<size_t>(ix + n_ * (iy + n_ * iz))];
    const int sy = n_, sz = n_ * n_;
    auto lerp = [](float a, float b, float t) { return a + (b - a) * t; };
    const float p000 = p[0], p100 = p[1], p010 = p[sy], p110 = p[sy + 1];
    const float p001 = p[sz], p101 = p[sz + 1], p011 = p[sz + sy], p111 = p[sz + sy + 1];
    const float c00 = lerp(p000, p100, fx), c10 = lerp(p010, p110, fx);
    const float c01 = lerp(p001, p101, fx), c11 = lerp(p011, p111, fx);
    const float c0 = lerp(c00, c10, fy), c1 = lerp(c01, c11, fy);
    const float s = static_cast<float>(scale_);
    grad[0] = inside(x) * s * dfade(static_cast<float>(gx - ix)) *
              lerp(lerp(p100 - p000, p110 - p010, fy), lerp(p101 - p001, p111 - p011, fy), fz);
    grad[1] = inside(y) * s * dfade(static_cast<float>(gy - iy)) * lerp(c10 - c00, c11 - c01, fz);
    grad[2] = inside(z) * s * dfade(static_cast<float>(gz - iz)) * (c1 - c0);
    return lerp(c0, c1, fz);
  }

 private:
  double lattice(double v) const {
    double g = (std::clamp(v, -extent_, extent_) + extent_) * scale_;
    return std::min(g, static_cast<double>(n_ - 2) - 1e-6);
  }
  float inside(double v) const { return std::abs(v) < extent_ ? 1.0f : 0.0f; }
  static float fade(float t) { return t * t * t * (t * (t * 6.0f - 15.0f) + 10.0f); }
  static float dfade(float t) { return 30.0f * t * t * (t - 1.0f) * (t - 1.0f); }
  int n_;
  double scale_, extent_;
  std::vector<float> values_;
};

// Gradient (Perlin) noise: random unit gradients on the lattice, blended with the quintic fade. Its zero set
// is smooth and isotropic (value noise's is blocky), which is what the cortical folds follow.
class GradientNoise {
 public:
  GradientNoise(kern::PhiloxKey key, int cells, double extent = 1.25)
      : n_(cells + 2), scale_(cells / (2.0 * extent)), extent_(extent) {
    grads_.resize(3 * static_cast<size_t>(n_) * n_ * n_);
    for (size_t i = 0; i < grads_.size() / 3; ++i) {
      kern::Philox4 b = kern::philox_block(key, i);
      const double z = 2.0 * kern::uniform01(b.v[0]) - 1.0, phi = 6.283185307179586 * kern::uniform01(b.v[1]);
      const double r = std::sqrt(std::max(0.0, 1.0 - z * z));
      grads_[3 * i] = static_cast<float>(r * std::cos(phi));
      grads_[3 * i + 1] = static_cast<float>(r * std::sin(phi));
      grads_[3 * i + 2] = static_cast<float>(z);
    }
  }
  // Value (about -1..1) and gradient per coordinate unit; coordinates are clamped to [-extent, extent].
  float value_and_gradient(double x, double y, double z, float grad[3]) const {
    const double g[3] = {lattice(x), lattice(y), lattice(z)};
    int i[3];
    float t[3], f[3], df[3];
    for (int a = 0; a < 3; ++a) {
      i[a] = static_cast<int>(g[a]);
      t[a] = static_cast<float>(g[a] - i[a]);
      f[a] = t[a] * t[a] * t[a] * (t[a] * (t[a] * 6.0f - 15.0f) + 10.0f);
      df[a] = 30.0f * t[a] * t[a] * (t[a] - 1.0f) * (t[a] - 1.0f);
    }
    float value = 0, gx = 0, gy = 0, gz = 0;
    for (int c = 0; c < 8; ++c) {
      const int bx = c & 1, by = (c >> 1) & 1, bz = c >> 2;
      const float* gr = &grads_[3 * static_cast<size_t>((i[0] + bx) + n_ * ((i[1] + by) + n_ * (i[2] + bz)))];
      const float ox = t[0] - bx, oy = t[1] - by, oz = t[2] - bz;
      const float dot = gr[0] * ox + gr[1] * oy + gr[2] * oz;
      const float wx = bx ? f[0] : 1 - f[0], wy = by ? f[1] : 1 - f[1], wz = bz ? f[2] : 1 - f[2];
      const float sx = bx ? df[0] : -df[0], sy = by ? df[1] : -df[1], sz = bz ? df[2] : -df[2];
      const float w = wx * wy * wz;
      value += w * dot;
      gx += sx * wy * wz * dot + w * gr[0];
      gy += wx * sy * wz * dot + w * gr[1];
      gz += wx * wy * sz * dot + w * gr[2];
    }
    const float s = static_cast<float>(scale_);
    grad[0] = gx * s;
    grad[1] = gy * s;
    grad[2] = gz * s;
    return value;
  }

 private:
  double lattice(double v) const {
    double g = (std::clamp(v, -extent_, extent_) + extent_) * scale_;
    return std::min(g, static_cast<double>(n_ - 2) - 1e-6);
  }
  int n_;
  double scale_, extent_;
  std::vector<float> grads_;
};

}  // namespace asyndgan::data::phantom_detail
