// The U-Net generator: levels built innermost first, as pix2pix builds them; each level writes its skip and up
// path into one output buffer (see the header).
#include "models/unet_generator.h"
#include <optional>
#include "base/error.h"
#include "engine/nn/activation.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/nn/norm.h"
#include "engine/ops.h"

namespace asyndgan::models {
namespace {

// A level's norm layer run fused with `act` into `out`.
Tensor norm_into(nn::Module& norm, const Tensor& x, const NormActivation& act, const Tensor& out) {
  if (std::optional<Tensor> y = nn::forward_norm(norm, x, act, out)) return *y;
  throw ValueError(msg("UnetSkipBlock: expected a BatchNorm2d or InstanceNorm2d layer, got ", norm.type_name()));
}

}  // namespace

UnetSkipBlock::UnetSkipBlock(int64_t outer_nc, int64_t inner_nc, int64_t input_nc, std::shared_ptr<Module> inner,
                             Level level, NormKind norm, bool dropout)
    : level_(level), input_nc_(input_nc), outer_nc_(outer_nc) {
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  // The down convolution feeds a norm only at the middle levels; at the outermost and innermost ones it keeps
  // (with instance norm) and applies pix2pix's bias. The up convolutions below the outermost all feed a norm.
  auto downconv = level == Level::middle ? conv_before_norm<nn::Conv2d>(norm, input_nc, inner_nc, 4, 2, 1)
                                         : std::make_shared<nn::Conv2d>(input_nc, inner_nc, 4, 2, 1, conv_bias_before(norm));
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
    model_->push_back(conv_before_norm<nn::ConvTranspose2d>(norm, inner_nc, outer_nc, 4, 2, 1, 0));
    model_->push_back(make_norm(norm, outer_nc));
  } else {
    model_->push_back(std::make_shared<nn::LeakyReLU>(0.2));
    model_->push_back(downconv);
    model_->push_back(make_norm(norm, inner_nc));
    model_->push_back(inner);
    model_->push_back(std::make_shared<nn::ReLU>());
    model_->push_back(conv_before_norm<nn::ConvTranspose2d>(norm, inner_nc * 2, outer_nc, 4, 2, 1, 0));
    model_->push_back(make_norm(norm, outer_nc));
    if (dropout) model_->push_back(std::make_shared<nn::Dropout>(0.5));
  }
}

Tensor UnetSkipBlock::new_output(const Tensor& x) const {
  if (level_ == Level::outermost) throw ValueError("UnetSkipBlock: the outermost level has no concatenated output");
  if (x.dim() != 4 || x.size(1) != input_nc_)
    throw ShapeError(msg("UnetSkipBlock: expected input [N, ", input_nc_, ", H, W], got ", shape_str(x.shape())));
  return Tensor::empty({x.size(0), input_nc_ + outer_nc_, x.size(2), x.size(3)}, x.dtype(), x.device());
}

NormActivation UnetSkipBlock::down_activation() const {
  std::optional<NormActivation> act = level_ == Level::outermost ? std::nullopt : nn::fusable_activation(layer(0));
  if (!act) throw ValueError("UnetSkipBlock: this level has no down activation to fuse");
  return *act;
}

Tensor UnetSkipBlock::forward(const Tensor& x) {
  if (level_ == Level::outermost) return model_->forward(x);
  check_defined("UnetSkipBlock", x, "x");
  Tensor out = new_output(x);
  // Layer 0 is the down LeakyReLU; its output is also the skip (see the header), so it goes into the buffer.
  return forward_activated(activation_into(x, down_activation(), out.narrow(1, 0, input_nc_)), out);
}

Tensor UnetSkipBlock::forward_activated(const Tensor& skip, const Tensor& out) {
  Tensor h = layer(1).forward(skip);  // the down convolution
  size_t up = 2;
  if (level_ == Level::middle) {
    // Layers 2 and 3: the down norm, fused with the inner level's LeakyReLU and written into its buffer.
    auto& inner = dynamic_cast<UnetSkipBlock&>(layer(3));
    const Tensor inner_out = inner.new_output(h);
    const Tensor inner_skip = norm_into(layer(2), h, inner.down_activation(), inner_out.narrow(1, 0, h.size(1)));
    h = inner.forward_activated(inner_skip, inner_out);
    up = 4;
  }
  const Tensor dst = out.narrow(1, input_nc_, outer_nc_);
  return cat({skip, up_into(up, h, dst)}, 1);
}

Tensor UnetSkipBlock::up_into(size_t first, const Tensor& h, const Tensor& dst) {
  size_t last = model_->size() - 1;
  auto* drop = dynamic_cast<nn::Dropout*>(&layer(last));
  if (drop && !drop->active()) --last;  // the identity: the norm before it writes into dst itself
  Tensor y = h;
  for (size_t i = first; i < last; ++i) y = layer(i).forward(y);
  if (drop && drop->active()) return drop->forward_into(y, dst);
  return norm_into(layer(last), y, NormActivation{}, dst);
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
