// Conv2d and ConvTranspose2d layers over the engine's conv ops; parameter names and layouts as PyTorch's.
#pragma once
#include <optional>
#include "engine/nn/module.h"
#include "engine/ops.h"

namespace asyndgan::nn {

// weight [out, in, k, k], bias [out] (undefined without bias). Initialized as PyTorch's default
// distribution, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from default_generator(); see init_pix2pix.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
         bool bias = true, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }

  Tensor weight, bias;
  Conv2dOptions options;
  // The dtype the convolution runs in (mixed precision: bf16 math over f32 master weights): the input and
  // the weights are converted to it, the output stays in it. Unset (the default): no conversion.
  std::optional<DType> compute_dtype;
};

// weight [in, out, k, k] (PyTorch's layout), bias [out]; fan_in = out * k * k as PyTorch computes it.
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
                  int64_t padding = 0, int64_t output_padding = 0, bool bias = true, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }

  Tensor weight, bias;
  ConvTranspose2dOptions options;
  std::optional<DType> compute_dtype;  // as Conv2d's
};

// Sets compute_dtype on every convolution below `net` (nn::set_compute_dtype(g, DType::bf16) for mixed
// precision); normalization keeps its f32 parameters and statistics and takes the activations as they come.
void set_compute_dtype(Module& net, DType dtype);

}  // namespace asyndgan::nn
