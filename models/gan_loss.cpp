// GANLoss over the engine's loss ops.
#include "models/gan_loss.h"
#include "base/error.h"
#include "engine/ops.h"

namespace asyndgan::models {

GanMode parse_gan_mode(const std::string& name, const std::string& what) {
  if (name == "vanilla") return GanMode::vanilla;
  if (name == "lsgan") return GanMode::lsgan;
  throw ValueError(msg(what, ": unknown GAN loss '", name, "'; use \"vanilla\" or \"lsgan\""));
}

const char* gan_mode_name(GanMode mode) { return mode == GanMode::vanilla ? "vanilla" : "lsgan"; }

Tensor GANLoss::operator()(const Tensor& prediction, bool target_is_real) const {
  check_defined("GANLoss", prediction, "prediction");
  Tensor target = Tensor::full(prediction.shape(), target_is_real ? 1.0 : 0.0, prediction.dtype(), prediction.device());
  return mode_ == GanMode::vanilla ? bce_with_logits(prediction, target) : mse_loss(prediction, target);
}

}  // namespace asyndgan::models
