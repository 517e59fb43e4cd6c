// The normalization choice shared by every pix2pix network: which layer follows a convolution, and
// whether that convolution keeps its bias.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include "engine/nn/conv.h"
#include "engine/nn/module.h"

namespace asyndgan::models {

enum class NormKind { batch, instance };

// "batch" or "instance"; anything else is a ValueError naming `what` (the config key) and the choices.
NormKind parse_norm(const std::string& name, const std::string& what = "norm");
const char* norm_name(NormKind kind);

// pix2pix's norm layers: BatchNorm2d(affine, running stats) or InstanceNorm2d(affine=False, no running stats).
std::shared_ptr<nn::Module> make_norm(NormKind kind, int64_t channels);

// pix2pix's use_bias: a conv before BatchNorm drops its bias (the norm's shift replaces it); before an
// InstanceNorm without affine it keeps one, although the norm cancels it (as pix2pix does, for key parity).
// pix2pix also passes use_bias to convolutions that no norm follows (the U-Net's outermost and innermost down
// convolutions); those apply it.
inline bool conv_bias_before(NormKind kind) { return kind == NormKind::instance; }

// A convolution (nn::Conv2d or nn::ConvTranspose2d, built from `args` then the bias flag) whose output goes
// straight into `kind`'s norm: with a bias exactly when pix2pix gives it one, and that bias marked cancelled
// (nn::Conv2d::set_bias_cancelled: not applied, no gradient) because instance norm's per-plane mean subtraction
// removes it. Only for a convolution the norm follows directly: nothing may sit between them.
template <class Conv, class... Args>
std::shared_ptr<Conv> conv_before_norm(NormKind kind, Args... args) {
  auto conv = std::make_shared<Conv>(args..., conv_bias_before(kind));
  if (kind == NormKind::instance) conv->set_bias_cancelled(true);
  return conv;
}

}  // namespace asyndgan::models
