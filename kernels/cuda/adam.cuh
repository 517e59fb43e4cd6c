// Adam over every parameter in one launch (multi-tensor apply): the launcher over raw device buffers.
#pragma once
#include <cstdint>
#include <vector>
#include "engine/dtype.h"

namespace asyndgan::kern::cuda {

// One parameter: n contiguous elements in each buffer (all of the launch's dtype) and its per-step scalars,
// in double as the host computes them; the kernel rounds them to the dtype as the CPU step does.
struct AdamTensor {
  void* param;
  const void* grad;
  void* exp_avg;
  void* exp_avg_sq;
  int64_t n;
  double weight_decay, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps, neg_step_size;
};

// Applies kern::adam_update to every element of every tensor (dtype f32 or f64) on `device`'s current stream:
// one launch per 256 tensors (pix2pix's networks need one), no host synchronization.
void adam_multi(DType dt, const std::vector<AdamTensor>& tensors, int device);

}  // namespace asyndgan::kern::cuda
