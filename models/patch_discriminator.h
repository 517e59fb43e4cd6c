// pix2pix's PatchGAN discriminator (NLayerDiscriminator): a map of real/fake logits, one per overlapping
// patch (70x70 receptive field for n_layers 3); keys as PyTorch's ("model.0.weight", "model.2.weight", ...).
#pragma once
#include <cstdint>
#include <memory>
#include "engine/nn/module.h"
#include "engine/nn/sequential.h"
#include "models/norm_kind.h"

namespace asyndgan::models {

// 4x4 convs with padding 1: ndf stride 2 (bias, no norm) + LeakyReLU 0.2; n_layers - 1 stride-2 convs of
// ndf * min(2^n, 8) channels + norm + LeakyReLU 0.2; one stride-1 conv of ndf * min(2^n_layers, 8) + norm +
// LeakyReLU 0.2; a stride-1 conv to 1 channel (bias). in_channels = condition + image channels. With instance
// norm the convs before a norm have pix2pix's bias, marked cancelled (conv_before_norm in norm_kind.h).
// Output [N, 1, h, w]: 30x30 for a 256x256 input at n_layers 3, 6x6 at 64x64.
class PatchDiscriminator : public nn::Module {
 public:
  PatchDiscriminator(int64_t in_channels, int64_t ndf, int64_t n_layers, NormKind norm);
  Tensor forward(const Tensor& x) override;  // ShapeError when the input is too small for one patch
  std::string type_name() const override { return "NLayerDiscriminator"; }
  int64_t n_layers() const { return n_layers_; }

 private:
  std::shared_ptr<nn::Sequential> model_;
  int64_t n_layers_;
};

// The logit map's side for an input side of `size` (< 1 when too small).
int64_t patch_output_size(int64_t size, int64_t n_layers);

}  // namespace asyndgan::models
