// The convolution drivers for a narrow batch column matrix (a few columns in all: the deep U-Net layers), where
// the GEMM is a few dot products or axpys per row of Wm and runs at memory speed over Wm / dWm.
#pragma once
#include <cstdint>
#include "kernels/cpu/conv.h"

namespace asyndgan::kern::cpu {

// Widths (batch * P) up to which the narrow paths beat OpenBLAS, which packs all of Wm (or zeroes all of dWm)
// first: the forward takes dot products, the two adjoints sums of scaled rows.
constexpr int64_t kNarrowForward = 4;
constexpr int64_t kNarrowGradient = 16;

// The same contracts as lower_multiply, multiply_scatter and weight_gradient (kernels/cpu/conv_lowered.h), for
// batch * P up to kNarrowForward, kNarrowGradient and kNarrowGradient columns.
template <class T>
void narrow_multiply(const T* image, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* out);
template <class T>
void narrow_scatter(const T* in, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* image);
template <class T>
void narrow_weight_gradient(const T* image, const T* in, int64_t rows, const ConvGeometry& g, int64_t batch, T* dwm);

}  // namespace asyndgan::kern::cpu
