// The CUDA losses (engine/backend.h's l1, mse and bce entries) over raw device buffers: 0-D results and dL/dloss
// stay on the device. Plain C++ declarations: engine/cuda/loss_ops.cpp adapts tensors to them.
#pragma once
#include <cstdint>
#include "base/dtype.h"

namespace asyndgan::kern::cuda {

// x, y (target), mask and the gradients hold n contiguous elements of dt (f32, f64 or bf16); mask, gx and gt may
// be null (absent). The 0-D result `out` and dL/dloss `grad_loss` are f32 or f64 (out_dt, grad_dt), on the device.
void l1_forward(DType dt, int64_t n, const void* x, const void* y, const void* mask, DType out_dt, void* out,
                int device);
void l1_backward(DType dt, int64_t n, DType grad_dt, const void* grad_loss, const void* x, const void* y,
                 const void* mask, void* gx, int device);
void mse_forward(DType dt, int64_t n, const void* x, const void* y, DType out_dt, void* out, int device);
void mse_backward(DType dt, int64_t n, DType grad_dt, const void* grad_loss, const void* x, const void* y, void* gx,
                  int device);
void bce_forward(DType dt, int64_t n, const void* logits, const void* target, DType out_dt, void* out, int device);
void bce_backward(DType dt, int64_t n, DType grad_dt, const void* grad_loss, const void* logits, const void* target,
                  void* gx, void* gt, int device);

}  // namespace asyndgan::kern::cuda
