// pix2pix's U-Net generator (UnetGenerator / UnetSkipConnectionBlock), nested block by block so that the
// state-dict keys are PyTorch's: "model.model.0.weight", "model.model.1.model.1.weight", ...
#pragma once
#include <cstdint>
#include <memory>
#include "engine/nn/module.h"
#include "engine/nn/sequential.h"
#include "engine/ops.h"
#include "models/norm_kind.h"

namespace asyndgan::models {

// One level: down (LeakyReLU 0.2, 4x4 stride-2 conv, norm), the inner levels, up (ReLU, 4x4 stride-2
// transposed conv, norm[, dropout 0.5]); the result is the skip concatenated with the up path, on channels.
// As in pix2pix, whose in-place LeakyReLU overwrites the block's input before torch.cat reads it, the skip
// carries LeakyReLU(x), not x. The outermost level has no skip, no down activation or norm, and ends in
// Tanh; the innermost has no inner levels and no down norm. With instance norm, the down conv of the middle
// levels and the up conv of every level below the outermost feed a norm: their biases are marked cancelled
// (conv_before_norm in norm_kind.h); the outermost down and up and the innermost down conv apply theirs.
//
// No copy for the concatenation: a block allocates its output [N, input_nc + outer_nc, H, W] once, the skip's
// LeakyReLU writes into its first input_nc channels and the up path's last op (the norm, or the dropout after
// it) into the rest, and cat of the two is then a view of that buffer (engine/ops.h). A level's down norm feeds
// only the next level's LeakyReLU, so it runs fused with it (one kernel on the GPU) and writes straight into
// the next level's buffer, which then starts at forward_activated. Modules and keys stay pix2pix's.
class UnetSkipBlock : public nn::Module {
 public:
  enum class Level { outermost, middle, innermost };
  // input_nc: channels entering the block (outer_nc except at the outermost level); inner: the next level
  // (null for the innermost).
  UnetSkipBlock(int64_t outer_nc, int64_t inner_nc, int64_t input_nc, std::shared_ptr<Module> inner, Level level,
                NormKind norm, bool dropout);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "UnetSkipConnectionBlock"; }

  // Below the outermost level only. The output buffer for an input shaped like `x` (dtype and device too).
  Tensor new_output(const Tensor& x) const;
  // The down activation (layer 0, LeakyReLU 0.2) that whoever produces this block's input may fuse.
  NormActivation down_activation() const;
  // forward after layer 0: `skip` is LeakyReLU(x), already written into out[:, :input_nc] (a view of out's
  // storage carrying its autograd history; out from new_output). Returns cat(skip, up path), a view of out.
  Tensor forward_activated(const Tensor& skip, const Tensor& out);

 private:
  Module& layer(size_t i) const { return (*model_)[i]; }
  // The up path from layer `first` (its ReLU) to the end, the last op writing into `dst`.
  Tensor up_into(size_t first, const Tensor& h, const Tensor& dst);

  std::shared_ptr<nn::Sequential> model_;
  Level level_;
  int64_t input_nc_, outer_nc_;
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
