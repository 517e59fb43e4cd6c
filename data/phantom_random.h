// The phantom's randomness (internal): Philox streams named by (seed, purpose, a, b), so every subject, site
// and modality draws independently of the others and of the thread count, and smooth value noise built on them.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include "engine/rng.h"

namespace asyndgan::data::phantom_detail {

enum class Purpose : uint32_t { shape = 1, brain_noise, fold_noise, fold_depth, tumor, tumor_noise, scanner, bias, rician };

// The key of stream (purpose, a, b) under `seed`: one Philox block of the seed's key hashes the name.
inline PhiloxKey stream_key(uint64_t seed, Purpose p, uint32_t a, uint32_t b) {
  const Philox4 h = keyed_block(seed, 0, static_cast<uint64_t>(p) | static_cast<uint64_t>(a) << 32,
                                b | uint64_t{0x5eed1234u} << 32);
  return {h.v[0] ^ h.v[2], h.v[1] ^ h.v[3]};
}

// Sequential uniforms from one stream (for the handful of per-subject and per-site parameters).
class Stream {
 public:
  Stream(uint64_t seed, Purpose p, uint32_t a = 0, uint32_t b = 0) : key_(stream_key(seed, p, a, b)) {}
  PhiloxKey key() const { return key_; }
  uint32_t next_word() {
    if (word_ == 4) {
      cur_ = philox_block(key_, block_++);
      word_ = 0;
    }
    return cur_.v[word_++];
  }
  double uniform() { return uniform01(next_word()); }              // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double symmetric() { return uniform(-1.0, 1.0); }

 private:
  PhiloxKey key_;
  uint64_t block_ = 0;
  int word_ = 4;
  Philox4 cur_{};
};

// The quintic fade 6t^5 - 15t^4 + 10t^3 both noises blend with, and its derivative.
inline float fade(float t) { return t * t * t * (t * (t * 6.0f - 15.0f) + 10.0f); }
inline float dfade(float t) { return 30.0f * t * t * (t - 1.0f) * (t - 1.0f); }

// Value noise: uniform [-1, 1] values on a lattice of `cells` cells along each axis over [-extent, extent]^3,
// blended with a quintic fade, so it is smooth (C2) with features about 2 * extent / cells wide.
class SmoothNoise {
 public:
  SmoothNoise(PhiloxKey key, int cells, double extent = 1.25)
      : n_(cells + 2), scale_(cells / (2.0 * extent)), extent_(extent) {
    values_.resize(static_cast<size_t>(n_) * n_ * n_);
    for (size_t i = 0; i < values_.size(); ++i)
      values_[i] = 2.0f * uniform01(philox_word(key, 0, i)) - 1.0f;
  }
  // Coordinates outside [-extent, extent] are clamped to it.
  float operator()(double x, double y, double z) const {
    const Cell c = locate(x, y, z);
    return lerp(c.c0, c.c1, c.fz);
  }
  // The value and its gradient (per coordinate unit; zero where clamped), from the same eight lattice values.
  float value_and_gradient(double x, double y, double z, float grad[3]) const {
    const Cell c = locate(x, y, z);
    const float* p = c.p;
    const int sy = n_, sz = n_ * n_;
    const float s = static_cast<float>(scale_);
    grad[0] = inside(x) * s * dfade(c.tx) *
              lerp(lerp(p[1] - p[0], p[sy + 1] - p[sy], c.fy), lerp(p[sz + 1] - p[sz], p[sz + sy + 1] - p[sz + sy], c.fy),
                   c.fz);
    grad[1] = inside(y) * s * dfade(c.ty) * lerp(c.c10 - c.c00, c.c11 - c.c01, c.fz);
    grad[2] = inside(z) * s * dfade(c.tz) * (c.c1 - c.c0);
    return lerp(c.c0, c.c1, c.fz);
  }

 private:
  // The lattice cell around a point: its first corner, the fractional offsets (raw t and faded f), and the
  // blends along x (c00..c11) and then y (c0, c1) that the value and the gradient share.
  struct Cell {
    const float* p;
    float tx, ty, tz, fx, fy, fz;
    float c00, c10, c01, c11, c0, c1;
  };
  Cell locate(double x, double y, double z) const {
    const double gx = lattice(x), gy = lattice(y), gz = lattice(z);
    const int ix = static_cast<int>(gx), iy = static_cast<int>(gy), iz = static_cast<int>(gz);
    Cell c;
    c.tx = static_cast<float>(gx - ix);
    c.ty = static_cast<float>(gy - iy);
    c.tz = static_cast<float>(gz - iz);
    c.fx = fade(c.tx);
    c.fy = fade(c.ty);
    c.fz = fade(c.tz);
    c.p = &values_[static_cast<size_t>(ix + n_ * (iy + n_ * iz))];
    const int sy = n_, sz = n_ * n_;
    c.c00 = lerp(c.p[0], c.p[1], c.fx);
    c.c10 = lerp(c.p[sy], c.p[sy + 1], c.fx);
    c.c01 = lerp(c.p[sz], c.p[sz + 1], c.fx);
    c.c11 = lerp(c.p[sz + sy], c.p[sz + sy + 1], c.fx);
    c.c0 = lerp(c.c00, c.c10, c.fy);
    c.c1 = lerp(c.c01, c.c11, c.fy);
    return c;
  }
  static float lerp(float a, float b, float t) { return a + (b - a) * t; }
  double lattice(double v) const {
    double g = (std::clamp(v, -extent_, extent_) + extent_) * scale_;
    return std::min(g, static_cast<double>(n_ - 2) - 1e-6);
  }
  float inside(double v) const { return std::abs(v) < extent_ ? 1.0f : 0.0f; }
  int n_;
  double scale_, extent_;
  std::vector<float> values_;
};

// Gradient (Perlin) noise: random unit gradients on the lattice, blended with the quintic fade. Its zero set
// is smooth and isotropic (value noise's is blocky), which is what the cortical folds follow.
class GradientNoise {
 public:
  GradientNoise(PhiloxKey key, int cells, double extent = 1.25)
      : n_(cells + 2), scale_(cells / (2.0 * extent)), extent_(extent) {
    grads_.resize(3 * static_cast<size_t>(n_) * n_ * n_);
    for (size_t i = 0; i < grads_.size() / 3; ++i) {
      Philox4 b = philox_block(key, i);
      const double z = 2.0 * uniform01(b.v[0]) - 1.0, phi = 6.283185307179586 * uniform01(b.v[1]);
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
      f[a] = fade(t[a]);
      df[a] = dfade(t[a]);
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
