// The PatchGAN discriminator, layer for layer as pix2pix lists it.
#include "models/patch_discriminator.h"
#include <algorithm>
#include "base/error.h"
#include "engine/nn/activation.h"
#include "engine/nn/conv.h"
#include "engine/ops.h"

namespace asyndgan::models {

int64_t patch_output_size(int64_t size, int64_t n_layers) {
  for (int64_t i = 0; i < n_layers; ++i) size = size / 2;  // 4x4, stride 2, padding 1: floor(size / 2)
  return size - 2;                                          // two 4x4 stride-1 convs with padding 1: -1 each
}

PatchDiscriminator::PatchDiscriminator(int64_t in_channels, int64_t ndf, int64_t n_layers, NormKind norm)
    : n_layers_(n_layers) {
  if (in_channels <= 0 || ndf <= 0 || n_layers < 1)
    throw ValueError(msg("PatchDiscriminator: in_channels and ndf must be positive and n_layers at least 1, got in=",
                         in_channels, " ndf=", ndf, " n_layers=", n_layers));
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  auto& m = *model_;
  m.push_back(std::make_shared<nn::Conv2d>(in_channels, ndf, 4, 2, 1, /*bias=*/true));
  m.push_back(std::make_shared<nn::LeakyReLU>(0.2));
  int64_t mult = 1;
  for (int64_t n = 1; n <= n_layers; ++n) {
    const int64_t prev = mult;
    mult = std::min<int64_t>(int64_t{1} << n, 8);
    const int64_t stride = n < n_layers ? 2 : 1;
    m.push_back(conv_before_norm<nn::Conv2d>(norm, ndf * prev, ndf * mult, 4, stride, 1));
    m.push_back(make_norm(norm, ndf * mult));
    m.push_back(std::make_shared<nn::LeakyReLU>(0.2));
  }
  m.push_back(std::make_shared<nn::Conv2d>(ndf * mult, 1, 4, 1, 1, /*bias=*/true));
}

Tensor PatchDiscriminator::forward(const Tensor& x) {
  check_defined("PatchDiscriminator", x, "x");
  if (x.dim() != 4 || patch_output_size(x.size(2), n_layers_) < 1 || patch_output_size(x.size(3), n_layers_) < 1)
    throw ShapeError(msg("PatchDiscriminator: input ", shape_str(x.shape()), " must be [N, C, H, W] large enough for ",
                         n_layers_, " stride-2 levels and one 1x1 patch (at least 3 * 2^n_layers = ", int64_t{3} << n_layers_,
                         " pixels per side)"));
  return model_->forward(x);
}

}  // namespace asyndgan::models
