// The batched im2col + GEMM drivers behind the CPU conv2d / conv_transpose2d, over a weight matrix Wm [rows, K]
// (K = g.col_rows()) and a batch of NCHW images: the product, its adjoint in the image, its adjoint in Wm.
#pragma once
#include <cstdint>
#include "kernels/cpu/conv.h"

namespace asyndgan::kern::cpu {

// Each driver takes `winograd`: whether an f32 problem that winograd_fits (kernels/cpu/conv_winograd.h) may go to
// the Winograd drivers (the caller's numerics setting, engine/numerics.h); f64 and other problems ignore it.

// out[n] [rows, P] = Wm * im2col(image[n]) for every n < batch.
template <class T>
void lower_multiply(const T* image, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* out,
                    bool winograd);

// image[n] = col2im(Wm^T * in[n]) with in[n] [rows, P]: the adjoint of lower_multiply in its image.
template <class T>
void multiply_scatter(const T* in, const T* wm, int64_t rows, const ConvGeometry& g, int64_t batch, T* image,
                      bool winograd);

// dWm [rows, K] = the sum over n of in[n] [rows, P] * im2col(image[n])^T: the adjoint of lower_multiply in Wm.
template <class T>
void weight_gradient(const T* image, const T* in, int64_t rows, const ConvGeometry& g, int64_t batch, T* dwm,
                     bool winograd);

}  // namespace asyndgan::kern::cpu
