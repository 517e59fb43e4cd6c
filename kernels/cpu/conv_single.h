// Direct convolution drivers for a one-row weight matrix with stride 1 (the PatchGAN's last layer, 512 -> 1):
// there the GEMM is a matrix-vector product, and im2col would copy K = 8192 rows to feed one output row.
#pragma once
#include <cstdint>
#include "kernels/cpu/conv.h"

namespace asyndgan::kern::cpu {

// Whether the single-row paths below take the problem (any kernel size and padding).
inline bool single_row(int64_t rows, const ConvGeometry& g) { return rows == 1 && g.stride_h == 1 && g.stride_w == 1; }

// The same contracts as lower_multiply, multiply_scatter and weight_gradient (kernels/cpu/conv_lowered.h) with
// rows = 1 and stride 1.
template <class T> void single_multiply(const T* image, const T* wm, const ConvGeometry& g, int64_t batch, T* out);
template <class T> void single_scatter(const T* in, const T* wm, const ConvGeometry& g, int64_t batch, T* image);
template <class T>
void single_weight_gradient(const T* image, const T* in, const ConvGeometry& g, int64_t batch, T* dwm);

}  // namespace asyndgan::kern::cpu
