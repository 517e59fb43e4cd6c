// Per-element loss math (L1 sign, stable BCE on logits and its gradient) shared by the CPU and CUDA kernels.
#pragma once
#include <cmath>
#include "kernels/common/activation_math.h"
#include "kernels/common/hostdevice.h"

namespace asyndgan::kern {

// sign with sign(0) = 0, the subgradient PyTorch uses for |x - y|.
template <class T> ASYNDGAN_HD T sign0(T d) { return d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0)); }

// max(x, 0) - x*t + log1p(exp(-|x|)): no exp of a positive argument, so no overflow for large |x|.
template <class T> ASYNDGAN_HD T bce_logits_term(T x, T t) {
  return (x > T(0) ? x : T(0)) - x * t + std::log1p(std::exp(-std::fabs(x)));
}
// d/dx of bce_logits_term.
template <class T> ASYNDGAN_HD T bce_logits_dx(T x, T t) { return sigmoid_fwd(x) - t; }

}  // namespace asyndgan::kern
