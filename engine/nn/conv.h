// Conv2d and ConvTranspose2d layers over the engine's conv ops; parameter names and layouts as PyTorch's.
#pragma once
#include <optional>
#include <string>
#include <vector>
#include "engine/nn/module.h"
#include "engine/ops.h"

namespace asyndgan::nn {

// A cancelled bias (set_bias_cancelled, both convolutions): for a convolution whose output goes straight into a
// per-plane normalization, InstanceNorm2d (affine or not). That norm subtracts each (sample, channel) plane's mean,
// and a per-channel bias is constant over the plane, so it cancels exactly: the output does not depend on it and
// its true gradient is zero. pix2pix still gives such a convolution a bias (use_bias = norm is InstanceNorm2d),
// so the parameter stays, with its state-dict key and initialization (checkpoints and PyTorch weights load both
// ways), but forward neither adds it nor records it: no bias-add and no bias-gradient reduction run, on any
// device (the op sees no bias), and backward leaves it without a gradient (PyTorch's None, i.e. zero), so Adam
// skips it and it keeps its value. The module cannot see what follows it: the network that builds it sets the
// flag. Batch norm does NOT qualify: in eval it subtracts running statistics, which do not cancel a bias.
//
// weight [out, in, k, k], bias [out] (undefined without bias). Initialized as PyTorch's default
// distribution, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from default_generator(); see init_pix2pix.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
         bool bias = true, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }

  // Marks the bias as cancelled by the normalization that follows (see above); a ValueError without a bias.
  void set_bias_cancelled(bool cancelled);
  bool bias_cancelled() const { return bias_cancelled_; }

  Tensor weight, bias;
  Conv2dOptions options;
  // The dtype the convolution runs in (mixed precision: bf16 math over f32 master weights): the input and
  // the weights are converted to it, the output stays in it. Unset (the default): no conversion.
  std::optional<DType> compute_dtype;

 private:
  bool bias_cancelled_ = false;
};

// weight [in, out, k, k] (PyTorch's layout), bias [out]; fan_in = out * k * k as PyTorch computes it.
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
                  int64_t padding = 0, int64_t output_padding = 0, bool bias = true, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }

  void set_bias_cancelled(bool cancelled);  // as Conv2d's: the U-Net's up path feeds InstanceNorm2d the same way
  bool bias_cancelled() const { return bias_cancelled_; }

  Tensor weight, bias;
  ConvTranspose2dOptions options;
  std::optional<DType> compute_dtype;  // as Conv2d's

 private:
  bool bias_cancelled_ = false;
};

// The dotted state-dict keys ("model.1.bias", ...) of every bias below `net` marked cancelled, in module order.
std::vector<std::string> cancelled_biases(Module& net);

// Sets compute_dtype on every convolution below `net` (nn::set_compute_dtype(g, DType::bf16) for mixed
// precision); normalization keeps its f32 parameters and statistics and takes the activations as they come.
void set_compute_dtype(Module& net, DType dtype);

}  // namespace asyndgan::nn
