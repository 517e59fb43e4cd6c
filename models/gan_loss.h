// pix2pix's GANLoss: the adversarial loss of a logit map against an all-real or all-fake target.
#pragma once
#include <string>
#include "engine/tensor.h"

namespace asyndgan::models {

enum class GanMode {
  vanilla,  // BCE with logits against 1 (real) or 0 (fake), mean over the patch map
  lsgan,    // mean squared error of the raw map against 1 or 0
};

// "vanilla" or "lsgan"; anything else is a ValueError naming `what` (the config key).
GanMode parse_gan_mode(const std::string& name, const std::string& what = "gan_mode");
const char* gan_mode_name(GanMode mode);

class GANLoss {
 public:
  explicit GANLoss(GanMode mode = GanMode::vanilla) : mode_(mode) {}
  // A 0-D loss; the target has the prediction's shape, dtype and device.
  Tensor operator()(const Tensor& prediction, bool target_is_real) const;
  GanMode mode() const { return mode_; }

 private:
  GanMode mode_;
};

}  // namespace asyndgan::models
