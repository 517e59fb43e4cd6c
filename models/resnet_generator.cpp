// The ResNet generator, layer for layer as pix2pix lists it.
#include "models/resnet_generator.h"
#include "base/error.h"
#include "engine/nn/activation.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/nn/padding.h"
#include "engine/ops.h"

namespace asyndgan::models {

ResnetBlock::ResnetBlock(int64_t dim, NormKind norm, bool dropout) {
  conv_block_ = register_module("conv_block", std::make_shared<nn::Sequential>());
  conv_block_->push_back(std::make_shared<nn::ReflectionPad2d>(1));
  conv_block_->push_back(conv_before_norm<nn::Conv2d>(norm, dim, dim, 3, 1, 0));
  conv_block_->push_back(make_norm(norm, dim));
  conv_block_->push_back(std::make_shared<nn::ReLU>());
  if (dropout) conv_block_->push_back(std::make_shared<nn::Dropout>(0.5));
  conv_block_->push_back(std::make_shared<nn::ReflectionPad2d>(1));
  conv_block_->push_back(conv_before_norm<nn::Conv2d>(norm, dim, dim, 3, 1, 0));
  conv_block_->push_back(make_norm(norm, dim));
}

Tensor ResnetBlock::forward(const Tensor& x) { return x + conv_block_->forward(x); }

ResnetGenerator::ResnetGenerator(int64_t in_channels, int64_t out_channels, int64_t ngf, NormKind norm, bool dropout,
                                 int64_t n_blocks) {
  if (in_channels <= 0 || out_channels <= 0 || ngf <= 0 || n_blocks < 0)
    throw ValueError(msg("ResnetGenerator: channels and ngf must be positive and n_blocks non-negative, got in=",
                         in_channels, " out=", out_channels, " ngf=", ngf, " n_blocks=", n_blocks));
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  auto& m = *model_;
  m.push_back(std::make_shared<nn::ReflectionPad2d>(3));
  m.push_back(conv_before_norm<nn::Conv2d>(norm, in_channels, ngf, 7, 1, 0));
  m.push_back(make_norm(norm, ngf));
  m.push_back(std::make_shared<nn::ReLU>());
  for (int64_t mult : {1, 2}) {
    m.push_back(conv_before_norm<nn::Conv2d>(norm, ngf * mult, ngf * mult * 2, 3, 2, 1));
    m.push_back(make_norm(norm, ngf * mult * 2));
    m.push_back(std::make_shared<nn::ReLU>());
  }
  for (int64_t i = 0; i < n_blocks; ++i) m.push_back(std::make_shared<ResnetBlock>(ngf * 4, norm, dropout));
  for (int64_t mult : {4, 2}) {
    m.push_back(conv_before_norm<nn::ConvTranspose2d>(norm, ngf * mult, ngf * mult / 2, 3, 2, 1, 1));
    m.push_back(make_norm(norm, ngf * mult / 2));
    m.push_back(std::make_shared<nn::ReLU>());
  }
  m.push_back(std::make_shared<nn::ReflectionPad2d>(3));
  m.push_back(std::make_shared<nn::Conv2d>(ngf, out_channels, 7, 1, 0, /*bias=*/true));
  m.push_back(std::make_shared<nn::Tanh>());
}

Tensor ResnetGenerator::forward(const Tensor& x) {
  check_defined("ResnetGenerator", x, "x");
  if (x.dim() != 4 || x.size(2) % 4 != 0 || x.size(3) % 4 != 0 || x.size(2) < 8 || x.size(3) < 8)
    throw ShapeError(msg("ResnetGenerator: input ", shape_str(x.shape()),
                         " must be [N, C, H, W] with H and W multiples of 4 and at least 8 (two stride-2 levels, "
                         "then reflection padding 1 needs 2 pixels)"));
  return model_->forward(x);
}

}  // namespace asyndgan::models
