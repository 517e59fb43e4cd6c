// The per-channel bias of an NCHW tensor on the device: adding it to a convolution's output, and its gradient.
// Host-only declarations; kernels in kernels/cuda/bias.cu.
#pragma once
#include <cstdint>
#include "base/dtype.h"

namespace asyndgan::kern::cuda {

// y[i, ch, p] += bias[ch] for y [n, c, plane] (accumulates). dtype f32, f64 or bf16; bias of y's dtype.
void add_channel_bias(DType dt, int64_t n, int64_t c, int64_t plane, void* y, const void* bias, int device);

// db[ch] = sum over i and p of dy[i, ch, p] (assigns), accumulated in double in an order fixed by the shape
// alone: no atomics, so the same input gives the same bits on every run.
void bias_grad(DType dt, int64_t n, int64_t c, int64_t plane, const void* dy, void* db, int device);

}  // namespace asyndgan::kern::cuda
