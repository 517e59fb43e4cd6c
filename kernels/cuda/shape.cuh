// The CUDA reflection padding (engine/backend.h's reflection_pad2d entries) over raw [planes, H, W] device
// buffers. Plain C++ declarations: engine/cuda/shape_ops.cpp adapts tensors to them.
#pragma once
#include <cstdint>
#include "base/dtype.h"

namespace asyndgan::kern::cuda {

// `planes` contiguous planes of h x w (the unpadded extents), padded to (h + top + bottom) x (w + left + right).
struct Pad2d {
  int64_t planes = 0, h = 0, w = 0, left = 0, right = 0, top = 0, bottom = 0;
};

// dtype f32, f64 or bf16; both assign, on `device`'s current stream.
void reflection_pad2d(DType dt, const Pad2d& p, const void* x, void* out, int device);
void reflection_pad2d_backward(DType dt, const Pad2d& p, const void* grad, void* gin, int device);

}  // namespace asyndgan::kern::cuda
