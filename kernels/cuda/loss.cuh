// The CUDA losses (engine/backend.h's l1, mse and bce entries): 0-D results and dL/dloss stay on the device.
// Plain C++ declarations: loss_ops.cpp, compiled by the host compiler, registers them.
#pragma once
#include "engine/tensor.h"

namespace asyndgan::kern::cuda {

void l1_forward(const Tensor& x, const Tensor& y, const Tensor& mask, Tensor& out);
void l1_backward(const Tensor& grad_loss, const Tensor& x, const Tensor& y, const Tensor& mask, Tensor& gx);
void mse_forward(const Tensor& x, const Tensor& y, Tensor& out);
void mse_backward(const Tensor& grad_loss, const Tensor& x, const Tensor& y, Tensor& gx);
void bce_forward(const Tensor& logits, const Tensor& target, Tensor& out);
void bce_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& target, Tensor& gx, Tensor& gt);

}  // namespace asyndgan::kern::cuda
