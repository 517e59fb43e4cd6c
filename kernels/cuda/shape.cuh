// The CUDA reflection padding (engine/backend.h's reflection_pad2d entries) over [planes, H, W] buffers.
// Plain C++ declarations: shape_ops.cpp, compiled by the host compiler, registers them.
#pragma once
#include <cstdint>
#include "engine/tensor.h"

namespace asyndgan::kern::cuda {

void reflection_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, Tensor& out);
void reflection_pad2d_backward(const Tensor& grad, int64_t left, int64_t right, int64_t top, int64_t bottom,
                               Tensor& gin);

}  // namespace asyndgan::kern::cuda
