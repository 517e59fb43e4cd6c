// Loss kernels over contiguous host buffers of n elements: per-element terms (summed by kern::cpu::sum,
// which is deterministic) and gradients.
#pragma once
#include <cstdint>

namespace asyndgan::kern::cpu {

template <class T> void l1_terms(const T* x, const T* y, const T* mask, T* out, int64_t n);  // mask may be null
template <class T> void l1_grad(const T* x, const T* y, const T* mask, T scale, T* out, int64_t n);  // scale*m*sign(x-y)
template <class T> void squared_diff(const T* x, const T* y, T* out, int64_t n);
template <class T> void bce_logits_terms(const T* x, const T* t, T* out, int64_t n);
template <class T> void bce_logits_grad(const T* x, const T* t, T scale, T* out, int64_t n);  // scale*(sigmoid(x)-t)

}  // namespace asyndgan::kern::cpu
