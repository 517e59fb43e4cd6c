// One subject through `asyndgan prepare`: read, check, normalize, select slices, and build its samples.
#include <algorithm>
#include "data/nifti.h"
#include "data/prepare.h"
#include "data/preprocess.h"
#include "base/error.h"

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
  for (size_t m = 0; m < nmod; ++m)
    if (available & (1u << m)) normalize(mods[m], brain, opt);
  const std::vector<int> slices = select_slices(labels, brain, dims, opt.min_tumor, opt.healthy_share, opt.seed, s.id);

  const PlaneFit fit(opt, dims[1], dims[0]);
  const int64_t plane = dims[0] * dims[1], hw = opt.height * opt.width;
  const int classes = static_cast<int>(ds.labels.names.size());
  const int64_t C = opt.condition == ConditionKind::onehot ? classes + 1 : 1, M = static_cast<int64_t>(nmod);
  out.condition.resize(static_cast<size_t>(slices.size() * C * hw));
  out.image.resize(static_cast<size_t>(slices.size() * M * hw));
  std::vector<uint8_t> lab_t(static_cast<size_t>(hw)), brain_t(static_cast<size_t>(hw));
  for (size_t i = 0; i < slices.size(); ++i) {
    const int64_t z = slices[i];
    fit.mask(labels.data() + z * plane, lab_t.data());
    fit.mask(brain.data() + z * plane, brain_t.data());
    for (int64_t m = 0; m < M; ++m) {
      float* dst = out.image.data() + (static_cast<int64_t>(i) * M + m) * hw;
      if (available & (1u << m)) fit.image(mods[m].voxels.data() + z * plane, dst);
      else std::fill(dst, dst + hw, 0.0f);
    }
    plane_condition(opt, classes, lab_t.data(), brain_t.data(), opt.height, opt.width,
                    out.condition.data() + static_cast<int64_t>(i) * C * hw);
    out.samples.push_back(SampleInfo{s.id, static_cast<int32_t>(z), split, available});
  }
  return out;
}

}  // namespace asyndgan::data
