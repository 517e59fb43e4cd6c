// A 3-D image in memory: float voxels (any file scaling already applied), NIfTI order (x fastest), with
// the voxel-to-world affine and spacing it came with.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace asyndgan::data {

using Affine = std::array<std::array<double, 4>, 4>;  // row-major, voxel (i, j, k, 1) -> world mm (RAS)

struct Volume {
  std::array<int64_t, 3> dims{0, 0, 0};         // nx, ny, nz
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // mm
  Affine affine{};                               // identity-like scaling by spacing when unknown
  std::vector<float> voxels;                     // nx * ny * nz values, index x + nx * (y + ny * z)

  int64_t size() const { return dims[0] * dims[1] * dims[2]; }
  int64_t index(int64_t x, int64_t y, int64_t z) const { return x + dims[0] * (y + dims[1] * z); }
  float& at(int64_t x, int64_t y, int64_t z) { return voxels[static_cast<size_t>(index(x, y, z))]; }
  float at(int64_t x, int64_t y, int64_t z) const { return voxels[static_cast<size_t>(index(x, y, z))]; }
};

// A volume of the given dims filled with `value`, with a diagonal affine of the spacing.
Volume make_volume(const std::array<int64_t, 3>& dims, const std::array<double, 3>& spacing = {1, 1, 1},
                   float value = 0.0f);

// The BraTS affine (1 mm, 240 x 240 x 155, as the challenge's files carry it).
Affine brats_affine();

}  // namespace asyndgan::data
