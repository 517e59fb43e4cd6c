// The loss entries of the CUDA kernel table: tensors to the raw buffers of kernels/cuda/loss.cu (undefined
// optional tensors as null pointers).
#include "engine/cuda/registry.h"
#include "engine/cuda/tensor_args.h"
#include "kernels/cuda/loss.cuh"

namespace asyndgan::backend {
namespace {

void l1_forward(const Tensor& x, const Tensor& y, const Tensor& mask, Tensor& out) {
  kern::cuda::l1_forward(x.dtype(), x.numel(), x.raw_data(), y.raw_data(), data_or_null(mask), out.dtype(),
                         out.raw_data(), x.device().index);
}

void l1_backward(const Tensor& grad_loss, const Tensor& x, const Tensor& y, const Tensor& mask, Tensor& gx) {
  kern::cuda::l1_backward(x.dtype(), x.numel(), grad_loss.dtype(), grad_loss.raw_data(), x.raw_data(), y.raw_data(),
                          data_or_null(mask), gx.raw_data(), x.device().index);
}

void mse_forward(const Tensor& x, const Tensor& y, Tensor& out) {
  kern::cuda::mse_forward(x.dtype(), x.numel(), x.raw_data(), y.raw_data(), out.dtype(), out.raw_data(),
                          x.device().index);
}

void mse_backward(const Tensor& grad_loss, const Tensor& x, const Tensor& y, Tensor& gx) {
  kern::cuda::mse_backward(x.dtype(), x.numel(), grad_loss.dtype(), grad_loss.raw_data(), x.raw_data(), y.raw_data(),
                           gx.raw_data(), x.device().index);
}

void bce_forward(const Tensor& logits, const Tensor& target, Tensor& out) {
  kern::cuda::bce_forward(logits.dtype(), logits.numel(), logits.raw_data(), target.raw_data(), out.dtype(),
                          out.raw_data(), logits.device().index);
}

void bce_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& target, Tensor& gx, Tensor& gt) {
  kern::cuda::bce_backward(logits.dtype(), logits.numel(), grad_loss.dtype(), grad_loss.raw_data(),
                           logits.raw_data(), target.raw_data(), data_or_null(gx), data_or_null(gt),
                           logits.device().index);
}

}  // namespace

void register_loss(CudaKernels& t) {
  t.l1_forward = &l1_forward;
  t.l1_backward = &l1_backward;
  t.mse_forward = &mse_forward;
  t.mse_backward = &mse_backward;
  t.bce_forward = &bce_forward;
  t.bce_backward = &bce_backward;
}

}  // namespace asyndgan::backend
