// Fitting axial planes to the prepared size, normalization and per-plane conditions (data/prepare.h).
#include "data/prepare.h"
#include "data/preprocess.h"

namespace asyndgan::data {

PlaneFit::PlaneFit(const PrepareOptions& opt, int64_t ny_, int64_t nx_)
    : ny(ny_), nx(nx_), height(opt.height), width(opt.width), resize(opt.resize && (ny_ != opt.height || nx_ != opt.width)),
      background(opt.norm == Normalization::percentile ? -1.0f : 0.0f) {}

void PlaneFit::mask(const uint8_t* src, uint8_t* dst) const {
  if (resize) resize_nearest(src, ny, nx, dst, height, width);
  else pad_crop(src, ny, nx, dst, height, width, uint8_t{0});
}

void PlaneFit::image(const float* src, float* dst) const {
  if (resize) resize_bilinear(src, ny, nx, dst, height, width);
  else pad_crop(src, ny, nx, dst, height, width, background);
}

void PlaneFit::unfit_image(const float* src, float* dst) const {
  if (resize) resize_bilinear(src, height, width, dst, ny, nx);
  else pad_crop(src, height, width, dst, ny, nx, background);
}

void normalize(Volume& v, const std::vector<uint8_t>& brain, const PrepareOptions& opt) {
  if (opt.norm == Normalization::percentile) normalize_percentile(v, brain, opt.clip_low, opt.clip_high);
  else normalize_zscore(v, brain);
}

void plane_condition(const PrepareOptions& opt, int classes, const uint8_t* labels, const uint8_t* brain, int64_t h,
                     int64_t w, float* out) {
  if (opt.condition == ConditionKind::onehot) onehot_condition(labels, brain, h, w, classes, out);
  else asyndgan_condition(labels, brain, h, w, classes, out);
}

}  // namespace asyndgan::data
