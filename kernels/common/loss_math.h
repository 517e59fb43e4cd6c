// Per-element loss math (L1 terms and sign, squared difference, stable BCE on logits and its gradient) shared
// by the CPU and CUDA kernels.
#pragma once
#include <cmath>
#include "kernels/common/activation_math.h"
#include "base/hostdevice.h"

namespace asyndgan::kern {

// sign with sign(0) = 0, the subgradient PyTorch uses for |x - y|.
template <class T> ASYNDGAN_HD T sign0(T d) { return d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0)); }

// m * |x - y| (m = 1 without a mask) and its derivative in x times scale.
template <class T> ASYNDGAN_HD T l1_term(T x, T y, T m) { return m * std::fabs(x - y); }
template <class T> ASYNDGAN_HD T l1_grad_term(T x, T y, T m, T scale) { return scale * m * sign0(x - y); }

template <class T> ASYNDGAN_HD T squared_diff_term(T x, T y) { return (x - y) * (x - y); }

// max(x, 0) - x*t + log1p(exp(-|x|)): no exp of a positive argument, so no overflow for large |x|.
template <class T> ASYNDGAN_HD T bce_logits_term(T x, T t) {
  return (x > T(0) ? x : T(0)) - x * t + std::log1p(std::exp(-std::fabs(x)));
}
// d/dx of bce_logits_term.
template <class T> ASYNDGAN_HD T bce_logits_dx(T x, T t) { return sigmoid_fwd(x) - t; }

}  // namespace asyndgan::kern
