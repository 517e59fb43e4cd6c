// Adam over every parameter in one launch (multi-tensor apply): the launcher over raw device buffers.
#pragma once
#include <cstdint>
#include <vector>
#include "base/dtype.h"

namespace asyndgan::kern::cuda {

// One parameter: n contiguous elements in each buffer (all of the launch's dtype) and its step counter.
struct AdamTensor {
  void* param;
  const void* grad;
  void* exp_avg;
  void* exp_avg_sq;
  int64_t n;
  int64_t* step;  // on the device: incremented, then read, by the launch
};

// What every tensor of a launch shares: constants (in double, as the host computes them; the kernel rounds them
// to the dtype as the CPU step does) and device scalars, read when the kernel runs, so a CUDA graph replay sees
// the current learning rate and step counts.
struct AdamShared {
  double beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay;
  const double* lr;  // device, one f64
  int64_t* calls;    // device counter incremented once by this launch, or nullptr
};

// Increments every tensor's step (and *calls), then applies kern::adam_update to every element of every tensor
// (dtype f32 or f64) on `device`'s current stream with scalars computed on the device from the new steps and
// *lr: two launches per 256 tensors (pix2pix's networks need one pair), no host synchronization.
void adam_multi(DType dt, const AdamShared& shared, const std::vector<AdamTensor>& tensors, int device);

}  // namespace asyndgan::kern::cuda
