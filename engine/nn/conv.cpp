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

void check_cancellable(const char* layer, const Tensor& bias, bool cancelled) {
  if (cancelled && !bias.defined()) throw ValueError(msg(layer, ": set_bias_cancelled on a convolution without a bias"));
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool with_bias, DType dtype)
    : options(Conv2dOptions::make(stride, padding)) {
  check_conv_args("Conv2d", in, out, kernel, stride, padding);
  weight = register_parameter("weight", Tensor::empty({out, in, kernel, kernel}, dtype));
  if (with_bias) bias = register_parameter("bias", Tensor::empty({out}, dtype));
  default_init(weight, bias, in * kernel * kernel);
}

// In the compute dtype, when one is set (to() is a no-op for a tensor already in it).
static Tensor in_dtype(const Tensor& t, const std::optional<DType>& dt) { return t.defined() && dt ? t.to(*dt) : t; }

void Conv2d::set_bias_cancelled(bool cancelled) {
  check_cancellable("Conv2d", bias, cancelled);
  bias_cancelled_ = cancelled;
}

// A cancelled bias is not handed to the op at all (not a zero add): the op then launches no bias add and, having
// no bias input to differentiate, no bias-gradient reduction; the CPU and CUDA paths share this decision.
Tensor Conv2d::forward(const Tensor& x) {
  const Tensor b = bias_cancelled_ ? Tensor() : in_dtype(bias, compute_dtype);
  return conv2d(in_dtype(x, compute_dtype), in_dtype(weight, compute_dtype), b, options);
}

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

void ConvTranspose2d::set_bias_cancelled(bool cancelled) {
  check_cancellable("ConvTranspose2d", bias, cancelled);
  bias_cancelled_ = cancelled;
}

Tensor ConvTranspose2d::forward(const Tensor& x) {  // as Conv2d::forward
  const Tensor b = bias_cancelled_ ? Tensor() : in_dtype(bias, compute_dtype);
  return conv_transpose2d(in_dtype(x, compute_dtype), in_dtype(weight, compute_dtype), b, options);
}

void set_compute_dtype(Module& net, DType dtype) {
  if (!is_floating(dtype)) throw DTypeError(msg("set_compute_dtype: ", dtype_name(dtype), " is not a floating dtype"));
  for (auto& [name, m] : net.named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) c->compute_dtype = dtype;
    if (auto* t = dynamic_cast<ConvTranspose2d*>(m)) t->compute_dtype = dtype;
  }
}

std::vector<std::string> cancelled_biases(Module& net) {
  std::vector<std::string> out;
  for (auto& [name, m] : net.named_modules()) {
    const auto* c = dynamic_cast<Conv2d*>(m);
    const auto* t = dynamic_cast<ConvTranspose2d*>(m);
    if ((c && c->bias_cancelled()) || (t && t->bias_cancelled())) out.push_back(name.empty() ? "bias" : name + ".bias");
  }
  return out;
}

}  // namespace asyndgan::nn
