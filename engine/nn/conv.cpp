// Conv2d and ConvTranspose2d: argument checks, default initialization, forward through the ops.
#include "engine/nn/conv.h"
#include <cmath>
#include "engine/nn/init.h"

namespace asyndgan::nn {
namespace {

void check_conv_args(const char* layer, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  if (in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || padding < 0)
    throw ValueError(msg(layer, ": need positive channels, kernel and stride and a non-negative padding, got in=", in,
                         " out=", out, " kernel=", kernel, " stride=", stride, " padding=", padding));
}

// PyTorch's default: kaiming_uniform(a=sqrt(5)) for the weight, which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and
// the same bound for the bias.
void default_init(Tensor& weight, Tensor& bias, int64_t fan_in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  uniform_(weight, default_generator(), -bound, bound);
  if (bias.defined()) uniform_(bias, default_generator(), -bound, bound);
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool with_bias, DType dtype)
    : options(Conv2dOptions::make(stride, padding)) {
  check_conv_args("Conv2d", in, out, kernel, stride, padding);
  weight = register_parameter("weight", Tensor::empty({out, in, kernel, kernel}, dtype));
  if (with_bias) bias = register_parameter("bias", Tensor::empty({out}, dtype));
  default_init(weight, bias, in * kernel * kernel);
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, options); }

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                                 int64_t output_padding, bool with_bias, DType dtype)
    : options(ConvTranspose2dOptions::make(stride, padding, output_padding)) {
  check_conv_args("ConvTranspose2d", in, out, kernel, stride, padding);
  if (output_padding < 0 || output_padding >= stride)
    throw ValueError(msg("ConvTranspose2d: output_padding ", output_padding, " must be in [0, stride=", stride, ")"));
  weight = register_parameter("weight", Tensor::empty({in, out, kernel, kernel}, dtype));
  if (with_bias) bias = register_parameter("bias", Tensor::empty({out}, dtype));
  default_init(weight, bias, out * kernel * kernel);
}

Tensor ConvTranspose2d::forward(const Tensor& x) { return conv_transpose2d(x, weight, bias, options); }

}  // namespace asyndgan::nn
