// The convolution entries of the CUDA kernel table: Tensor adapters over kernels/cuda/conv.cuh (cuDNN, under the
// numerics settings of engine/cuda/numerics.h) and kernels/cuda/bias.cuh. A CUDA build without cuDNN registers only
// the bias entries.
#include "engine/cuda/numerics.h"
#include "engine/cuda/registry.h"
#include "kernels/cuda/bias.cuh"
#include "kernels/cuda/conv.cuh"

namespace asyndgan::backend {
namespace {

using kern::cuda::ConvShape;

// Every direction names the same conv2d: image [N, Cin, H, W], weight [Cout, Cin, kh, kw], out [N, Cout, oh, ow]
// (forward: x, w, y; backward-data: dx, w, dy; backward-weight: x, dw, dy).
ConvShape shape_of(const Tensor& image, const Tensor& weight, const Tensor& out, const ConvWindow& win) {
  ConvShape s;
  s.n = image.size(0);
  s.c_in = image.size(1);
  s.h = image.size(2);
  s.w = image.size(3);
  s.c_out = weight.size(0);
  s.kh = weight.size(2);
  s.kw = weight.size(3);
  s.oh = out.size(2);
  s.ow = out.size(3);
  s.stride_h = win.stride_h;
  s.stride_w = win.stride_w;
  s.pad_h = win.pad_h;
  s.pad_w = win.pad_w;
  return s;
}

int64_t plane(const Tensor& t) { return t.size(2) * t.size(3); }

void add_bias_entry(Tensor& y, const Tensor& bias) {
  kern::cuda::add_channel_bias(y.dtype(), y.size(0), y.size(1), plane(y), y.raw_data(), bias.raw_data(),
                               y.device().index);
}

void bias_grad_entry(const Tensor& dy, Tensor& db) {
  kern::cuda::bias_grad(dy.dtype(), dy.size(0), dy.size(1), plane(dy), dy.raw_data(), db.raw_data(),
                        dy.device().index);
}

#if ASYNDGAN_HAS_CUDNN
void forward_entry(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvWindow& win, Tensor& y) {
  kern::cuda::conv2d_forward(x.dtype(), shape_of(x, w, y, win), conv_math(), x.raw_data(), w.raw_data(), y.raw_data(),
                             x.device().index);
  if (bias.defined()) add_bias_entry(y, bias);
}

void backward_data_entry(const Tensor& dy, const Tensor& w, const ConvWindow& win, Tensor& dx) {
  kern::cuda::conv2d_backward_data(dy.dtype(), shape_of(dx, w, dy, win), conv_math(), dy.raw_data(), w.raw_data(),
                                   dx.raw_data(), dy.device().index);
}

void backward_weight_entry(const Tensor& x, const Tensor& dy, const ConvWindow& win, Tensor& dw) {
  kern::cuda::conv2d_backward_weight(x.dtype(), shape_of(x, dw, dy, win), conv_math(), x.raw_data(), dy.raw_data(),
                                     dw.raw_data(), x.device().index);
}
#endif

}  // namespace

void register_conv(CudaKernels& t) {
#if ASYNDGAN_HAS_CUDNN
  t.conv2d_forward = forward_entry;
  t.conv2d_backward_data = backward_data_entry;
  t.conv2d_backward_weight = backward_weight_entry;
#endif
  t.bias_grad = bias_grad_entry;
  t.add_channel_bias = add_bias_entry;
}

}  // namespace asyndgan::backend
