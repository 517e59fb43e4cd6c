// Volume construction helpers.
#include "data/volume.h"
#include "base/error.h"

namespace asyndgan::data {

Volume make_volume(const std::array<int64_t, 3>& dims, const std::array<double, 3>& spacing, float value) {
  for (int64_t d : dims)
    if (d <= 0) throw ValueError(msg("make_volume: dims must be positive, got ", dims[0], "x", dims[1], "x", dims[2]));
  Volume v;
  v.dims = dims;
  v.spacing = spacing;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) v.affine[r][c] = r == c ? (r < 3 ? spacing[r] : 1.0) : 0.0;
  v.voxels.assign(static_cast<size_t>(v.size()), value);
  return v;
}

// BraTS volumes are stored LPS-flipped in x and y at 1 mm: world = (-i, 239 - j, k).
Affine brats_affine() {
  return Affine{{{-1, 0, 0, 0}, {0, -1, 0, 239}, {0, 0, 1, 0}, {0, 0, 0, 1}}};
}

}  // namespace asyndgan::data
