// Elementwise kernels and reductions over contiguous host buffers of n elements.
#pragma once
#include <cstdint>

namespace asyndgan::kern::cpu {

template <class T> void add(const T* a, const T* b, T* out, int64_t n);
template <class T> void sub(const T* a, const T* b, T* out, int64_t n);
template <class T> void mul(const T* a, const T* b, T* out, int64_t n);
template <class T> void axpby(T alpha, const T* a, T beta, const T* b, T* out, int64_t n);  // out = alpha*a + beta*b
template <class T> void affine(const T* a, T scale, T shift, T* out, int64_t n);          // out = scale*a + shift
template <class T> void axpy_inplace(T* a, T alpha, const T* b, int64_t n);               // a += alpha*b
template <class T> double sum(const T* a, int64_t n);  // accumulated in double, deterministic for any thread count

}  // namespace asyndgan::kern::cpu
