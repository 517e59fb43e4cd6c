// Batch and instance normalization fused with the activation that follows, on the GPU: launchers over raw
// device buffers (engine/cuda/norm_ops.cpp adapts tensors to them). Statistics accumulate in double in a fixed order.
#pragma once
#include <cstddef>
#include <cstdint>
#include "base/dtype.h"
#include "kernels/common/descriptors.h"

namespace asyndgan::kern::cuda {

// x, out, grad, gx have the element dtype; every per-channel or per-group buffer (weight, bias, running and saved
// statistics, their gradients) is f64 for f64 data, else f32. Null pointers stand for undefined tensors. out (forward)
// and grad (backward) may have rows: each sample's c planes contiguous, samples `*_stride` elements apart (a
// channel range of the U-Net's concatenated buffer); a stride of c * size is the dense layout.
struct NormForwardBuffers {
  const void* x;
  const void* weight;
  const void* bias;
  void* running_mean;
  void* running_var;
  void* out;
  void* save_mean;
  void* save_invstd;
  int64_t out_stride;
};
struct NormBackwardBuffers {
  const void* grad;
  const void* x;
  const void* weight;
  const void* bias;
  const void* save_mean;
  const void* save_invstd;
  void* gx;
  void* gweight;
  void* gbias;
  int64_t grad_stride;
};

// Doubles of device scratch either launcher needs for this geometry (uninitialized is fine).
size_t norm_workspace_doubles(const NormGeometry& g, int device);

// Both launch on `device`'s current stream and never synchronize. cfg.per_channel must match g.
void norm_forward(const NormGeometry& g, DType dt, const NormConfig& cfg, const NormForwardBuffers& b,
                  double* workspace, int device);
void norm_backward(const NormGeometry& g, DType dt, const NormConfig& cfg, const NormBackwardBuffers& b,
                   double* workspace, int device);

}  // namespace asyndgan::kern::cuda
