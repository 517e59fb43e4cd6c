// pix2pix's U-Net generator (UnetGenerator / UnetSkipConnectionBlock), nested block by block so that the
// state-dict keys are PyTorch's: "model.model.0.weight", "model.model.1.model.1.weight", ...
#pragma once
#include <cstdint>
#include <memory>
#include "engine/nn/module.h"
#include "engine/nn/sequential.h"
#include "models/norm_kind.h"

namespace asyndgan::models {

// One level: down (LeakyReLU 0.2, 4x4 stride-2 conv, norm), the inner levels, up (ReLU, 4x4 stride-2
// transposed conv, norm[, dropout 0.5]); the result is the skip concatenated with the up path, on channels.
// As in pix2pix, whose in-place LeakyReLU overwrites the block's input before torch.cat reads it, the skip
// carries LeakyReLU(x), not x. The outermost level has no skip, no down activation or norm, and ends in
// Tanh; the innermost has no inner levels and no down norm.
class UnetSkipBlock : public nn::Module {
 public:
  enum class Level { outermost, middle, innermost };
  // input_nc: channels entering the block (outer_nc except at the outermost level); inner: the next level
  // (null for the innermost).
  UnetSkipBlock(int64_t outer_nc, int64_t inner_nc, int64_t input_nc, std::shared_ptr<Module> inner, Level level,
                NormKind norm, bool dropout);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "UnetSkipConnectionBlock"; }

 private:
  std::shared_ptr<nn::Sequential> model_;
  Level level_;
};

// num_downs levels: an H x W input needs H and W divisible by 2^num_downs (unet_256: 8 levels for 256).
// With dropout, the num_downs - 5 levels just above the innermost drop out (three for unet_256), as pix2pix.
class UnetGenerator : public nn::Module {
 public:
  UnetGenerator(int64_t in_channels, int64_t out_channels, int64_t num_downs, int64_t ngf, NormKind norm, bool dropout);
  Tensor forward(const Tensor& x) override;  // ShapeError for a size the levels cannot halve
  std::string type_name() const override { return "UnetGenerator"; }
  int64_t num_downs() const { return num_downs_; }

 private:
  std::shared_ptr<UnetSkipBlock> model_;
  int64_t num_downs_;
};

}  // namespace asyndgan::models
