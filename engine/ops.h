// The engine's differentiable ops. Each op checks its arguments (typed errors naming the op and shapes),
// runs on the inputs' device, returns a new contiguous tensor (or, where an op takes `out`, writes into that
// destination: see below), and records its backward when needed. Kernels exist for f32 and f64.
//
// Destinations (`out`, for the U-Net's skip concat written in place): a tensor of the result's shape, dtype and
// device, contiguous past dim 0 with any stride along dim 0 (engine/rows.h), such as buf.narrow(1, c0, c) of a
// contiguous NCHW buffer, and without autograd history. The op overwrites it and returns a view of its storage
// that carries the op's backward; the gradient arriving there may itself be such a view and is read in place.
#pragma once
#include <cstdint>
#include <vector>
#include "engine/tensor.h"

namespace asyndgan {

class Generator;

// ---- convolution (NCHW) ----
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  static Conv2dOptions make(int64_t stride, int64_t pad) { return {stride, stride, pad, pad}; }
};
// x [N, Cin, H, W], weight [Cout, Cin, kh, kw], bias [Cout] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt);

struct ConvTranspose2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t output_pad_h = 0, output_pad_w = 0;
  static ConvTranspose2dOptions make(int64_t stride, int64_t pad, int64_t output_pad = 0) {
    return {stride, stride, pad, pad, output_pad, output_pad};
  }
};
// x [N, Cin, H, W], weight [Cin, Cout, kh, kw] (PyTorch's layout), bias [Cout] or undefined.
// Output H' = (H - 1) * stride - 2 * pad + kh + output_pad.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dOptions& opt);

// ---- normalization (NCHW, per channel) ----
// The activation applied to a normalization's output, as if the activation op ran after it: on the CPU it
// does (same bits, same gradients); on the GPU the two are one kernel each way.
struct NormActivation {
  enum class Kind : unsigned char { none, relu, leaky_relu, tanh, sigmoid };
  Kind kind = Kind::none;
  double negative_slope = 0.01;  // of leaky_relu
};
// Training: normalizes with the batch statistics and updates running_mean/var in place (when defined)
// with the unbiased variance, as PyTorch does. Eval: normalizes with the running statistics.
// weight/bias [C] or undefined (no affine); they and the running statistics are x's dtype, or f32 for a bf16
// x on a GPU (mixed precision).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                  const NormActivation& act = {}, const Tensor& out = Tensor());
// Per sample and channel statistics over H x W; weight/bias [C] or undefined (no affine).
Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5,
                     const NormActivation& act = {}, const Tensor& out = Tensor());

// ---- activations ----
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
// The activation `act` (not none) of x, written into the destination `out`.
Tensor activation_into(const Tensor& x, const NormActivation& act, const Tensor& out);
// Zeroes each element with probability p and scales the rest by 1/(1-p); the mask comes from the
// Philox stream of `gen`, so it is the same whatever the thread count. Identity when !training or p == 0 (x
// itself, or a copy into `out` when one is given).
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen, const Tensor& out = Tensor());

// ---- shape ----
// pads the last two dims by reflection; pad = {left, right, top, bottom}, each smaller than that dim.
Tensor reflection_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom);
// All other dims equal. Inputs that already lie side by side along dim in one storage (views written into
// adjacent ranges of one buffer, same strides) are not copied: the result is a view over them, and its backward
// hands each input its range of the gradient as a view.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);

// ---- elementwise (same shapes) and scalar ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& a, double s);
Tensor mul_scalar(const Tensor& a, double s);
Tensor neg(const Tensor& a);
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add_scalar(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add_scalar(a, -s); }
inline Tensor operator*(const Tensor& a, double s) { return mul_scalar(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul_scalar(a, s); }
inline Tensor operator-(const Tensor& a) { return neg(a); }

// In place, not recorded by autograd (for gradient accumulation and optimizers): a += alpha * b.
void add_(Tensor& a, const Tensor& b, double alpha = 1.0);

// ---- reductions (to a 0-D tensor) ----
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);

// ---- losses (mean over elements, to a 0-D tensor) ----
// mean |x - y|; with a mask (same shape, 0/1 or weights): sum(mask * |x - y|) / max(sum(mask), 1).
Tensor l1_loss(const Tensor& x, const Tensor& y, const Tensor& mask = Tensor());
Tensor mse_loss(const Tensor& x, const Tensor& y);
// mean of max(x,0) - x*t + log(1 + exp(-|x|)), the numerically stable BCE on logits x with targets t.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target);

}  // namespace asyndgan
