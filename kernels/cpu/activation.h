// Activation and dropout-mask kernels over contiguous host buffers of n elements.
#pragma once
#include <cstdint>
#include "kernels/common/philox.h"

namespace asyndgan::kern::cpu {

template <class T> void relu_forward(const T* x, T* out, int64_t n);
template <class T> void relu_backward(const T* g, const T* y, T* out, int64_t n);  // y: the forward output
template <class T> void leaky_relu_forward(const T* x, T slope, T* out, int64_t n);
template <class T> void leaky_relu_backward(const T* g, const T* x, T slope, T* out, int64_t n);
template <class T> void tanh_forward(const T* x, T* out, int64_t n);
template <class T> void tanh_backward(const T* g, const T* y, T* out, int64_t n);
template <class T> void sigmoid_forward(const T* x, T* out, int64_t n);
template <class T> void sigmoid_backward(const T* g, const T* y, T* out, int64_t n);
// mask[i] = scale if element i (word i of the draw starting at block `first`) is kept, else 0.
template <class T> void dropout_mask(PhiloxKey key, uint64_t first, double p, T scale, T* mask, int64_t n);

}  // namespace asyndgan::kern::cpu
