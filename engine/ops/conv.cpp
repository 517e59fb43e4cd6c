// conv2d and conv_transpose2d (NCHW), forward and backward: batched im2col + GEMM on the CPU, cuDNN through the
// kernel table (engine/backend.h) for cuda tensors.
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/dispatch.h"
#include "engine/numerics.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_lowered.h"

namespace asyndgan {
namespace {

using kern::cpu::ConvGeometry;

// Both ops reduce to the three batched drivers of kernels/cpu/conv_lowered.h on a weight matrix Wm
// [rows, g.col_rows()]: conv2d's weight [Cout, Cin, kh, kw] is Wm with rows = Cout over input images, the
// transposed weight [Cin, Cout, kh, kw] is Wm with rows = Cin over output images. One op's forward is the
// other's backward-data.
//
// On the GPU the same three roles are cuDNN's conv2d directions on the conv2d whose image is `image` and whose
// weight is wm read as [rows, channels, kh, kw]: forward_data is its forward, backward_data its backward-data
// (`in` as dy), backward_weight its backward-weight (`in` as dy). conv_transpose2d's weight [Cin, Cout, kh, kw]
// is exactly that conv2d's [Cout', Cin', kh, kw] with Cout' = Cin and Cin' = Cout, so no entry needs to know
// which op called it. (Profile scopes around GPU calls time the launch, not the kernel.)

backend::ConvWindow window(const ConvGeometry& g) { return {g.stride_h, g.stride_w, g.pad_h, g.pad_w}; }

// A table entry that a build may lack (a CUDA build without cuDNN has no convolution entries).
template <class Fn>
Fn entry(const char* op, Fn fn, const char* name) {
  if (!fn) throw DeviceError(msg(op, ": this CUDA build has no ", name, " kernel (was cuDNN found at configure time?)"));
  return fn;
}

Tensor forward_data(const char* op, const Tensor& image, const Tensor& wm, int64_t rows, const ConvGeometry& g,
                    const Shape& out_shape) {
  const profile::Scope timed(op);
  if (image.device().is_cuda()) {
    Tensor out = Tensor::empty(out_shape, image.dtype(), image.device());
    entry(op, backend::cuda(op).conv2d_forward, "conv2d_forward")(image, wm, Tensor(), window(g), out);
    return out;
  }
  Tensor out = Tensor::empty(out_shape, image.dtype());
  const bool winograd = numerics().cpu_winograd;
  dispatch_floating(op, image.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kern::cpu::lower_multiply<T>(image.data<T>(), wm.data<T>(), rows, g, out_shape[0], out.data<T>(), winograd);
  });
  return out;
}

Tensor backward_data(const char* op, const Tensor& in, const Tensor& wm, int64_t rows, const ConvGeometry& g,
                     const Shape& image_shape) {
  const profile::Scope timed(op);
  if (in.device().is_cuda()) {
    Tensor image = Tensor::empty(image_shape, in.dtype(), in.device());
    entry(op, backend::cuda(op).conv2d_backward_data, "conv2d_backward_data")(in, wm, window(g), image);
    return image;
  }
  Tensor image = Tensor::empty(image_shape, in.dtype());
  const bool winograd = numerics().cpu_winograd;
  dispatch_floating(op, in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kern::cpu::multiply_scatter<T>(in.data<T>(), wm.data<T>(), rows, g, image_shape[0], image.data<T>(), winograd);
  });
  return image;
}

Tensor backward_weight(const char* op, const Tensor& image, const Tensor& in, int64_t rows, const ConvGeometry& g,
                       const Shape& weight_shape) {
  const profile::Scope timed(op);
  if (in.device().is_cuda()) {
    Tensor dw = Tensor::empty(weight_shape, in.dtype(), in.device());
    entry(op, backend::cuda(op).conv2d_backward_weight, "conv2d_backward_weight")(image, in, window(g), dw);
    return dw;
  }
  Tensor dw = Tensor::empty(weight_shape, in.dtype());
  const bool winograd = numerics().cpu_winograd;
  dispatch_floating(op, in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kern::cpu::weight_gradient<T>(image.data<T>(), in.data<T>(), rows, g, image.size(0), dw.data<T>(), winograd);
  });
  return dw;
}

void add_bias(const char* op, Tensor& out, const Tensor& bias) {
  const profile::Scope timed(op);
  if (out.device().is_cuda()) return entry(op, backend::cuda(op).add_channel_bias, "add_channel_bias")(out, bias);
  dispatch_floating(op, out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t c = out.size(1), plane = out.size(2) * out.size(3);
    for (int64_t n = 0; n < out.size(0); ++n)
      kern::cpu::add_channel_bias<T>(out.data<T>() + n * c * plane, bias.data<T>(), c, plane);
  });
}

Tensor bias_gradient(const char* op, const Tensor& dy) {
  const profile::Scope timed(op);
  if (dy.device().is_cuda()) {
    Tensor db = Tensor::empty({dy.size(1)}, dy.dtype(), dy.device());
    entry(op, backend::cuda(op).bias_grad, "bias_grad")(dy, db);
    return db;
  }
  Tensor db = Tensor::empty({dy.size(1)}, dy.dtype());
  dispatch_floating(op, dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kern::cpu::sum_per_channel<T>(dy.data<T>(), dy.size(0), dy.size(1), dy.size(2) * dy.size(3), db.data<T>());
  });
  return db;
}

// The checks both ops share: defined 4-D input and weight, a 1-D bias of `channels_out`, one dtype and one
// device for all; on the GPU, a dtype cuDNN computes in (the CPU's kernels check theirs when dispatched).
void check_common(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_defined(op, x, "x");
  check_defined(op, weight, "weight");
  check_dim(op, x, 4, "x");
  check_dim(op, weight, 4, "weight");
  check_same_dtype_device(op, x, weight);
  if (bias.defined()) check_same_dtype_device(op, x, bias);
  if (x.device().is_cuda() && x.dtype() != DType::f32 && x.dtype() != DType::f64 && x.dtype() != DType::bf16)
    throw DTypeError(msg(op, ": CUDA kernels exist for f32, f64 and bf16, got ", dtype_name(x.dtype())));
  if (x.numel() == 0 || weight.numel() == 0)
    throw ShapeError(msg(op, ": empty input ", shape_str(x.shape()), " or weight ", shape_str(weight.shape())));
}

void check_bias(const char* op, const Tensor& bias, int64_t channels_out, const Tensor& weight) {
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != channels_out))
    throw ShapeError(msg(op, ": bias of shape ", shape_str(bias.shape()), " does not match weight ",
                         shape_str(weight.shape()), ", which has ", channels_out, " output channels"));
}

void check_window(const char* op, int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w) {
  if (stride_h <= 0 || stride_w <= 0)
    throw ValueError(msg(op, ": stride must be positive, got ", stride_h, " x ", stride_w));
  if (pad_h < 0 || pad_w < 0) throw ValueError(msg(op, ": padding must be non-negative, got ", pad_h, " x ", pad_w));
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  const char* op = "conv2d";
  check_common(op, x, weight, bias);
  check_window(op, opt.stride_h, opt.stride_w, opt.pad_h, opt.pad_w);
  const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t cout = weight.size(0), kh = weight.size(2), kw = weight.size(3);
  if (weight.size(1) != cin)
    throw ShapeError(msg(op, ": input ", shape_str(x.shape()), " has ", cin, " channels but weight ",
                         shape_str(weight.shape()), " expects ", weight.size(1)));
  check_bias(op, bias, cout, weight);
  if (h + 2 * opt.pad_h < kh || w + 2 * opt.pad_w < kw)
    throw ShapeError(msg(op, ": kernel ", kh, "x", kw, " is larger than the padded input ", shape_str(x.shape()),
                         " with padding ", opt.pad_h, "x", opt.pad_w));
  const ConvGeometry g{cin, h, w, kh, kw, opt.stride_h, opt.stride_w, opt.pad_h, opt.pad_w,
                       (h + 2 * opt.pad_h - kh) / opt.stride_h + 1, (w + 2 * opt.pad_w - kw) / opt.stride_w + 1};

  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor out = forward_data(op, xc, wc, cout, g, {n, cout, g.out_h, g.out_w});
  if (bias.defined()) add_bias(op, out, bias.contiguous());

  // The input gradient needs the weight and the weight gradient needs the input; keep only what is used.
  Tensor saved_x = weight.requires_grad() ? xc.detach() : Tensor();
  Tensor saved_w = x.requires_grad() ? wc.detach() : Tensor();
  record(out, op, {x, weight, bias},
         [saved_x, saved_w, g, xshape = x.shape(), wshape = weight.shape(), cout](const Tensor& grad,
                                                                                   const std::vector<bool>& needs) {
           Tensor gc = grad.contiguous();
           std::vector<Tensor> grads(3);
           if (needs[0]) grads[0] = backward_data("conv2d backward", gc, saved_w, cout, g, xshape);
           if (needs[1]) grads[1] = backward_weight("conv2d backward", saved_x, gc, cout, g, wshape);
           if (needs[2]) grads[2] = bias_gradient("conv2d backward", gc);
           return grads;
         });
  return out;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dOptions& opt) {
  const char* op = "conv_transpose2d";
  check_common(op, x, weight, bias);
  check_window(op, opt.stride_h, opt.stride_w, opt.pad_h, opt.pad_w);
  if (opt.output_pad_h < 0 || opt.output_pad_w < 0 || opt.output_pad_h >= opt.stride_h ||
      opt.output_pad_w >= opt.stride_w)
    throw ValueError(msg(op, ": output_padding ", opt.output_pad_h, "x", opt.output_pad_w,
                         " must be non-negative and smaller than the stride ", opt.stride_h, "x", opt.stride_w));
  const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t cout = weight.size(1), kh = weight.size(2), kw = weight.size(3);
  if (weight.size(0) != cin)
    throw ShapeError(msg(op, ": input ", shape_str(x.shape()), " has ", cin, " channels but weight ",
                         shape_str(weight.shape()), " expects ", weight.size(0)));
  check_bias(op, bias, cout, weight);
  const int64_t oh = (h - 1) * opt.stride_h - 2 * opt.pad_h + kh + opt.output_pad_h;
  const int64_t ow = (w - 1) * opt.stride_w - 2 * opt.pad_w + kw + opt.output_pad_w;
  if (oh <= 0 || ow <= 0)
    throw ShapeError(msg(op, ": input ", shape_str(x.shape()), " with weight ", shape_str(weight.shape()),
                         ", stride ", opt.stride_h, "x", opt.stride_w, " and padding ", opt.pad_h, "x", opt.pad_w,
                         " gives an empty output ", oh, "x", ow));
  // The output is the image a conv2d with the same window would read; x sits at its window positions.
  const ConvGeometry g{cout, oh, ow, kh, kw, opt.stride_h, opt.stride_w, opt.pad_h, opt.pad_w, h, w};

  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor out = backward_data(op, xc, wc, cin, g, {n, cout, oh, ow});
  if (bias.defined()) add_bias(op, out, bias.contiguous());

  Tensor saved_x = weight.requires_grad() ? xc.detach() : Tensor();
  Tensor saved_w = x.requires_grad() ? wc.detach() : Tensor();
  record(out, op, {x, weight, bias},
         [saved_x, saved_w, g, xshape = x.shape(), wshape = weight.shape(), cin](const Tensor& grad,
                                                                                  const std::vector<bool>& needs) {
           Tensor gc = grad.contiguous();
           std::vector<Tensor> grads(3);
           if (needs[0]) grads[0] = forward_data("conv_transpose2d backward", gc, saved_w, cin, g, xshape);
           if (needs[1]) grads[1] = backward_weight("conv_transpose2d backward", gc, saved_x, cin, g, wshape);
           if (needs[2]) grads[2] = bias_gradient("conv_transpose2d backward", gc);
           return grads;
         });
  return out;
}

}  // namespace asyndgan
