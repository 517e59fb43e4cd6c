// Small BraTS-like subjects for the dataset and prepare tests: an ellipsoid brain with a labelled tumor
// (necrotic core, edema shell, enhancing rim) and four modalities, written with write_nifti.
#pragma once
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>
#include "data/nifti.h"
#include "data/volume.h"

namespace asyndgan::test {

struct FixtureSubject {
  data::Volume label;                 // file values 0, 1, 2, et
  std::vector<data::Volume> images;   // t1, t1ce, t2, flair: > 0 inside the brain, 0 outside
};

// dims nx x ny x nz; the tumor sits around slice nz/2 (radius r voxels); `et` is 4 (<= 2021) or 3 (2023).
inline FixtureSubject make_fixture_subject(std::array<int64_t, 3> dims, int et = 4, double r = 6.0, int variant = 0) {
  FixtureSubject s;
  s.label = data::make_volume(dims);
  for (int m = 0; m < 4; ++m) s.images.push_back(data::make_volume(dims));
  const double cx = dims[0] / 2.0, cy = dims[1] / 2.0, cz = dims[2] / 2.0;
  const double tx = cx + 3 + variant, ty = cy - 2, tz = cz;
  for (int64_t z = 0; z < dims[2]; ++z)
    for (int64_t y = 0; y < dims[1]; ++y)
      for (int64_t x = 0; x < dims[0]; ++x) {
        const double ex = (x + 0.5 - cx) / (0.42 * dims[0]), ey = (y + 0.5 - cy) / (0.45 * dims[1]),
                     ez = (z + 0.5 - cz) / (0.4 * dims[2]);
        if (ex * ex + ey * ey + ez * ez > 1.0) continue;
        const double d = std::sqrt((x - tx) * (x - tx) + (y - ty) * (y - ty) + (z - tz) * (z - tz));
        int lab = d < r * 0.4 ? 1 : d < r * 0.7 ? et : d < r ? 2 : 0;
        s.label.at(x, y, z) = static_cast<float>(lab);
        for (int m = 0; m < 4; ++m)
          s.images[m].at(x, y, z) = static_cast<float>(100 + 50 * m + x + 2 * y + (lab ? 30 * lab : 0) + variant);
      }
  return s;
}

// Writes <dir>/<id>/<id><sep><name><ext> for the label and each modality name not empty in `names`
// (names: label, t1, t1ce, t2, flair; "" skips that file). Returns the subject folder.
inline std::string write_fixture_subject(const std::filesystem::path& dir, const std::string& id, const FixtureSubject& s,
                                         const std::vector<std::string>& names, const std::string& sep = "_",
                                         const std::string& ext = ".nii") {
  const auto folder = dir / id;
  std::filesystem::create_directories(folder);
  if (!names[0].empty()) data::write_nifti((folder / (id + sep + names[0] + ext)).string(), s.label);
  for (int m = 0; m < 4; ++m)
    if (!names[m + 1].empty()) data::write_nifti((folder / (id + sep + names[m + 1] + ext)).string(), s.images[m]);
  return folder.string();
}

inline const std::vector<std::string>& old_names() {
  static const std::vector<std::string> n{"seg", "t1", "t1ce", "t2", "flair"};
  return n;
}
inline const std::vector<std::string>& new_names() {
  static const std::vector<std::string> n{"seg", "t1n", "t1c", "t2w", "t2f"};
  return n;
}

}  // namespace asyndgan::test
