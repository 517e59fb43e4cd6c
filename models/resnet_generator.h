// pix2pix's ResNet generator (ResnetGenerator / ResnetBlock, reflection padding), the network the AsynDGAN
// authors mostly ran; state-dict keys as PyTorch's ("model.1.weight", "model.10.conv_block.1.weight").
#pragma once
#include <cstdint>
#include <memory>
#include "engine/nn/module.h"
#include "engine/nn/sequential.h"
#include "models/norm_kind.h"

namespace asyndgan::models {

// x + [ReflectionPad 1, 3x3 conv, norm, ReLU, (Dropout 0.5), ReflectionPad 1, 3x3 conv, norm](x).
class ResnetBlock : public nn::Module {
 public:
  ResnetBlock(int64_t dim, NormKind norm, bool dropout);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResnetBlock"; }

 private:
  std::shared_ptr<nn::Sequential> conv_block_;
};

// ReflectionPad 3 + 7x7 conv + norm + ReLU; two 3x3 stride-2 convs (ngf*2, ngf*4) + norm + ReLU; n_blocks
// residual blocks; two 3x3 stride-2 transposed convs (padding 1, output_padding 1) + norm + ReLU;
// ReflectionPad 3 + 7x7 conv (with bias) + Tanh. H and W must be multiples of 4. With instance norm every conv
// but the last has pix2pix's bias, marked cancelled (conv_before_norm in norm_kind.h).
class ResnetGenerator : public nn::Module {
 public:
  ResnetGenerator(int64_t in_channels, int64_t out_channels, int64_t ngf, NormKind norm, bool dropout, int64_t n_blocks);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResnetGenerator"; }

 private:
  std::shared_ptr<nn::Sequential> model_;
};

}  // namespace asyndgan::models
