// Per-element activation math (forward, derivative, dropout keep test) shared by the CPU and CUDA kernels.
// Derivatives follow PyTorch at the kinks: relu' (0) = 0, leaky_relu' (0) = slope.
#pragma once
#include <cmath>
#include <cstdint>
#include "base/hostdevice.h"
#include "kernels/common/philox.h"

namespace asyndgan::kern {

template <class T> ASYNDGAN_HD T relu_fwd(T x) { return x > T(0) ? x : T(0); }
// From the saved output: y > 0 exactly when x > 0.
template <class T> ASYNDGAN_HD T relu_bwd(T g, T y) { return y > T(0) ? g : T(0); }

template <class T> ASYNDGAN_HD T leaky_relu_fwd(T x, T slope) { return x > T(0) ? x : x * slope; }
// From the saved input: the output's sign cannot tell x > 0 apart when slope <= 0.
template <class T> ASYNDGAN_HD T leaky_relu_bwd(T g, T x, T slope) { return x > T(0) ? g : g * slope; }

template <class T> ASYNDGAN_HD T tanh_fwd(T x) { return std::tanh(x); }
template <class T> ASYNDGAN_HD T tanh_bwd(T g, T y) { return g * (T(1) - y * y); }

// exp of a non-positive argument only, so neither branch overflows.
template <class T> ASYNDGAN_HD T sigmoid_fwd(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}
template <class T> ASYNDGAN_HD T sigmoid_bwd(T g, T y) { return g * y * (T(1) - y); }

// Dropout keeps an element iff the uniform from its Philox word is >= p; the golden script reproduces
// exactly this comparison (a 24-bit float uniform widened to double).
ASYNDGAN_HD bool dropout_keep(uint32_t word, double p) { return static_cast<double>(uniform01(word)) >= p; }

}  // namespace asyndgan::kern
