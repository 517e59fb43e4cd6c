// The U-Net generator: levels built innermost first, as pix2pix builds them.
#include "models/unet_generator.h"
#include "engine/error.h"
#include "engine/nn/activation.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/ops.h"

namespace asyndgan::models {

UnetSkipBlock::UnetSkipBlock(int64_t outer_nc, int64_t inner_nc, int64_t input_nc, std::shared_ptr<Module> inner,
                             Level level, NormKind norm, bool dropout)
    : level_(level) {
  const bool bias = conv_bias_before(norm);
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  auto downconv = std::make_shared<nn::Conv2d>(input_nc, inner_nc, 4, 2, 1, bias);
  if (level == Level::outermost) {
    model_->push_back(downconv);
    model_->push_back(inner);
    model_->push_back(std::make_shared<nn::ReLU>());
    model_->push_back(std::make_shared<nn::ConvTranspose2d>(inner_nc * 2, outer_nc, 4, 2, 1, 0, /*bias=*/true));
    model_->push_back(std::make_shared<nn::Tanh>());
  } else if (level == Level::innermost) {
    model_->push_back(std::make_shared<nn::LeakyReLU>(0.2));
    model_->push_back(downconv);
    model_->push_back(std::make_shared<nn::ReLU>());
    model_->push_back(std::make_shared<nn::ConvTranspose2d>(inner_nc, outer_nc, 4, 2, 1, 0, bias));
    model_->push_back(make_norm(norm, outer_nc));
  } else {
    model_->push_back(std::make_shared<nn::LeakyReLU>(0.2));
    model_->push_back(downconv);
    model_->push_back(make_norm(norm, inner_nc));
    model_->push_back(inner);
    model_->push_back(std::make_shared<nn::ReLU>());
    model_->push_back(std::make_shared<nn::ConvTranspose2d>(inner_nc * 2, outer_nc, 4, 2, 1, 0, bias));
    model_->push_back(make_norm(norm, outer_nc));
    if (dropout) model_->push_back(std::make_shared<nn::Dropout>(0.5));
  }
}

Tensor UnetSkipBlock::forward(const Tensor& x) {
  if (level_ == Level::outermost) return model_->forward(x);
  // Layer 0 is the down LeakyReLU; its output is also the skip (see the header).
  Tensor skip = (*model_)[0].forward(x);
  Tensor h = skip;
  for (size_t i = 1; i < model_->size(); ++i) h = (*model_)[i].forward(h);
  return cat({skip, h}, 1);
}

UnetGenerator::UnetGenerator(int64_t in_channels, int64_t out_channels, int64_t num_downs, int64_t ngf, NormKind norm,
                             bool dropout)
    : num_downs_(num_downs) {
  if (num_downs < 5)
    throw ValueError(msg("UnetGenerator: num_downs must be at least 5 (pix2pix's fixed outer four levels and the "
                         "innermost), got ", num_downs));
  if (in_channels <= 0 || out_channels <= 0 || ngf <= 0)
    throw ValueError(msg("UnetGenerator: channels and ngf must be positive, got in=", in_channels,
                         " out=", out_channels, " ngf=", ngf));
  using L = UnetSkipBlock::Level;
  std::shared_ptr<Module> block =
      std::make_shared<UnetSkipBlock>(ngf * 8, ngf * 8, ngf * 8, nullptr, L::innermost, norm, false);
  for (int64_t i = 0; i < num_downs - 5; ++i)
    block = std::make_shared<UnetSkipBlock>(ngf * 8, ngf * 8, ngf * 8, block, L::middle, norm, dropout);
  block = std::make_shared<UnetSkipBlock>(ngf * 4, ngf * 8, ngf * 4, block, L::middle, norm, false);
  block = std::make_shared<UnetSkipBlock>(ngf * 2, ngf * 4, ngf * 2, block, L::middle, norm, false);
  block = std::make_shared<UnetSkipBlock>(ngf, ngf * 2, ngf, block, L::middle, norm, false);
  model_ = register_module(
      "model", std::make_shared<UnetSkipBlock>(out_channels, ngf, in_channels, block, L::outermost, norm, false));
}

Tensor UnetGenerator::forward(const Tensor& x) {
  check_defined("UnetGenerator", x, "x");
  const int64_t factor = int64_t{1} << num_downs_;
  if (x.dim() != 4 || x.size(2) % factor != 0 || x.size(3) % factor != 0)
    throw ShapeError(msg("UnetGenerator: input ", shape_str(x.shape()), " must be [N, C, H, W] with H and W multiples of 2^",
                         num_downs_, " = ", factor, " (set the U-Net depth from the image size)"));
  return model_->forward(x);
}

}  // namespace asyndgan::models
