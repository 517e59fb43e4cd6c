// One subject through `asyndgan prepare`: read, check, normalize, select slices, and build its samples.
#include <algorithm>
#include "data/nifti.h"
#include "data/prepare.h"
#include "data/preprocess.h"
#include "engine/error.h"

namespace asyndgan::data {

namespace {

std::string dims_str(const std::array<int64_t, 3>& d) { return msg(d[0], "x", d[1], "x", d[2]); }

}  // namespace

PreparedSubject prepare_subject(const Dataset& ds, const Subject& s, Split split, const PrepareOptions& opt) {
  PreparedSubject out;
  const size_t nmod = ds.modalities.size();
  if (nmod == 0 || nmod > 32) throw ValueError(msg("prepare: a dataset needs 1 to 32 modalities, has ", nmod));
  Volume label = read_nifti(s.label_path);
  out.volumes = 1;
  std::vector<Volume> mods(nmod);
  std::vector<const Volume*> present;
  uint32_t available = 0;
  for (size_t m = 0; m < nmod; ++m) {
    auto it = s.modality_paths.find(ds.modalities[m]);
    if (it == s.modality_paths.end()) continue;
    mods[m] = read_nifti(it->second);
    ++out.volumes;
    if (mods[m].dims != label.dims)
      throw ShapeError(msg("subject '", s.id, "': ", it->second, " is ", dims_str(mods[m].dims), " but its label ",
                           s.label_path, " is ", dims_str(label.dims), " (all volumes of a subject must share one grid)"));
    available |= 1u << m;
    present.push_back(&mods[m]);
  }
  if (present.empty()) throw ValueError(msg("subject '", s.id, "' has none of the dataset's modalities"));

  const std::vector<uint8_t> labels = map_labels(label, ds.labels, s.label_path);
  const std::array<int64_t, 3> dims = label.dims;
  label.voxels = {};
  const std::vector<uint8_t> brain = brain_mask(present);
  for (size_t m = 0; m < nmod; ++m) {
    if (!(available & (1u << m))) continue;
    if (opt.norm == Normalization::percentile) normalize_percentile(mods[m], brain, opt.clip_low, opt.clip_high);
    else normalize_zscore(mods[m], brain);
  }
  const std::vector<int> slices = select_slices(labels, brain, dims, opt.min_tumor, opt.healthy_share, opt.seed, s.id);

  const int64_t nx = dims[0], ny = dims[1], plane = nx * ny, H = opt.height, W = opt.width, hw = H * W;
  const int classes = static_cast<int>(ds.labels.names.size());
  const int64_t C = opt.condition == ConditionKind::onehot ? classes + 1 : 1, M = static_cast<int64_t>(nmod);
  const bool resize = opt.resize && (ny != H || nx != W);
  const float background = opt.norm == Normalization::percentile ? -1.0f : 0.0f;
  out.condition.resize(static_cast<size_t>(slices.size() * C * hw));
  out.image.resize(static_cast<size_t>(slices.size() * M * hw));
  std::vector<uint8_t> lab_t(static_cast<size_t>(hw)), brain_t(static_cast<size_t>(hw));
  for (size_t i = 0; i < slices.size(); ++i) {
    const int64_t z = slices[i];
    const uint8_t* lz = labels.data() + z * plane;
    const uint8_t* bz = brain.data() + z * plane;
    if (resize) {
      resize_nearest(lz, ny, nx, lab_t.data(), H, W);
      resize_nearest(bz, ny, nx, brain_t.data(), H, W);
    } else {
      pad_crop(lz, ny, nx, lab_t.data(), H, W, uint8_t{0});
      pad_crop(bz, ny, nx, brain_t.data(), H, W, uint8_t{0});
    }
    for (int64_t m = 0; m < M; ++m) {
      float* dst = out.image.data() + (static_cast<int64_t>(i) * M + m) * hw;
      if (!(available & (1u << m))) {
        std::fill(dst, dst + hw, 0.0f);
        continue;
      }
      const float* src = mods[m].voxels.data() + z * plane;
      if (resize) resize_bilinear(src, ny, nx, dst, H, W);
      else pad_crop(src, ny, nx, dst, H, W, background);
    }
    float* cond = out.condition.data() + static_cast<int64_t>(i) * C * hw;
    if (opt.condition == ConditionKind::onehot) onehot_condition(lab_t.data(), brain_t.data(), H, W, classes, cond);
    else asyndgan_condition(lab_t.data(), brain_t.data(), H, W, classes, cond);
    out.samples.push_back(SampleInfo{s.id, static_cast<int32_t>(z), split, available});
  }
  return out;
}

}  // namespace asyndgan::data
