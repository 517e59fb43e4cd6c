// The normalization choice shared by every pix2pix network: which layer follows a convolution, and
// whether that convolution keeps its bias.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
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
inline bool conv_bias_before(NormKind kind) { return kind == NormKind::instance; }

}  // namespace asyndgan::models
