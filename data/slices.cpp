// Axial slice selection and 2-D pad/crop/resize for `asyndgan prepare`.
#include <algorithm>
#include <cmath>
#include "data/preprocess.h"
#include "base/error.h"
#include "engine/io/checksum.h"
#include "engine/rng.h"

namespace asyndgan::data {

uint32_t subject_random(uint64_t seed, const std::string& subject, uint32_t stream, uint64_t i) {
  // The subject's CRC picks a disjoint region of the Philox counter space, so draws depend on the subject
  // itself, not on its position in the dataset.
  const uint64_t first = (static_cast<uint64_t>(crc32(subject.data(), subject.size())) << 32) |
                         (static_cast<uint64_t>(stream & 0xFF) << 24);
  return philox_word(philox_key(seed), first, i);
}

std::vector<int> select_slices(const std::vector<uint8_t>& labels, const std::vector<uint8_t>& brain,
                               const std::array<int64_t, 3>& dims, int64_t min_tumor, double healthy_share,
                               uint64_t seed, const std::string& subject) {
  const int64_t plane = dims[0] * dims[1], nz = dims[2];
  if (static_cast<int64_t>(labels.size()) != plane * nz || brain.size() != labels.size())
    throw ShapeError("select_slices: label and brain sizes do not match the dims");
  if (min_tumor < 1) throw ValueError(msg("select_slices: the minimum tumor voxel count must be >= 1, got ", min_tumor));
  if (!(healthy_share >= 0 && healthy_share <= 1))
    throw ValueError(msg("select_slices: the healthy share must be in [0, 1], got ", healthy_share));
  std::vector<int> keep, healthy;
  for (int64_t z = 0; z < nz; ++z) {
    int64_t tumor = 0, inside = 0;
    const uint8_t* l = labels.data() + z * plane;
    const uint8_t* b = brain.data() + z * plane;
    for (int64_t i = 0; i < plane; ++i) {
      tumor += l[i] > 0;
      inside += b[i];
    }
    if (tumor >= min_tumor) keep.push_back(static_cast<int>(z));
    else if (tumor == 0 && inside > 0) healthy.push_back(static_cast<int>(z));
  }
  const size_t take = static_cast<size_t>(std::llround(healthy_share * static_cast<double>(healthy.size())));
  if (take > 0) {
    std::vector<std::pair<uint32_t, int>> keyed;
    for (int z : healthy) keyed.emplace_back(subject_random(seed, subject, 1, static_cast<uint64_t>(z)), z);
    std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(take), keyed.end());
    for (size_t i = 0; i < take; ++i) keep.push_back(keyed[i].second);
    std::sort(keep.begin(), keep.end());
  }
  return keep;
}

namespace {

template <class T>
void pad_crop_impl(const T* src, int64_t sh, int64_t sw, T* dst, int64_t th, int64_t tw, T fill) {
  const int64_t oy = (th - sh) / 2, ox = (tw - sw) / 2;
  for (int64_t y = 0; y < th; ++y) {
    const int64_t sy = y - oy;
    T* row = dst + y * tw;
    if (sy < 0 || sy >= sh) {
      std::fill(row, row + tw, fill);
      continue;
    }
    for (int64_t x = 0; x < tw; ++x) {
      const int64_t sx = x - ox;
      row[x] = sx >= 0 && sx < sw ? src[sy * sw + sx] : fill;
    }
  }
}

}  // namespace

void pad_crop(const float* src, int64_t sh, int64_t sw, float* dst, int64_t th, int64_t tw, float fill) {
  pad_crop_impl(src, sh, sw, dst, th, tw, fill);
}
void pad_crop(const uint8_t* src, int64_t sh, int64_t sw, uint8_t* dst, int64_t th, int64_t tw, uint8_t fill) {
  pad_crop_impl(src, sh, sw, dst, th, tw, fill);
}

void resize_bilinear(const float* src, int64_t sh, int64_t sw, float* dst, int64_t th, int64_t tw) {
  const double sy_scale = static_cast<double>(sh) / th, sx_scale = static_cast<double>(sw) / tw;
  for (int64_t y = 0; y < th; ++y) {
    const double fy = std::max(0.0, (y + 0.5) * sy_scale - 0.5);
    const int64_t y0 = std::min(static_cast<int64_t>(fy), sh - 1), y1 = std::min(y0 + 1, sh - 1);
    const float wy = static_cast<float>(fy - static_cast<double>(y0));
    for (int64_t x = 0; x < tw; ++x) {
      const double fx = std::max(0.0, (x + 0.5) * sx_scale - 0.5);
      const int64_t x0 = std::min(static_cast<int64_t>(fx), sw - 1), x1 = std::min(x0 + 1, sw - 1);
      const float wx = static_cast<float>(fx - static_cast<double>(x0));
      const float top = src[y0 * sw + x0] + wx * (src[y0 * sw + x1] - src[y0 * sw + x0]);
      const float bot = src[y1 * sw + x0] + wx * (src[y1 * sw + x1] - src[y1 * sw + x0]);
      dst[y * tw + x] = top + wy * (bot - top);
    }
  }
}

void resize_nearest(const uint8_t* src, int64_t sh, int64_t sw, uint8_t* dst, int64_t th, int64_t tw) {
  for (int64_t y = 0; y < th; ++y) {
    const int64_t sy = std::min(static_cast<int64_t>((y + 0.5) * static_cast<double>(sh) / th), sh - 1);
    for (int64_t x = 0; x < tw; ++x) {
      const int64_t sx = std::min(static_cast<int64_t>((x + 0.5) * static_cast<double>(sw) / tw), sw - 1);
      dst[y * tw + x] = src[sy * sw + sx];
    }
  }
}

}  // namespace asyndgan::data
