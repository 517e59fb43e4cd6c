// One element of torch.optim.Adam's single-tensor update, shared by the CPU loop and a fused CUDA kernel.
// The operation order follows PyTorch's (grad + wd*p; lerp for m; v*b2 + (1-b2)*g*g; sqrt(v)/sqrt(bc2) + eps;
// p + (-step_size*m)/denom) so results agree with PyTorch to the last bit where its kernels do the same.
#pragma once
#include <cmath>
#include "base/hostdevice.h"

namespace asyndgan::kern {

// Per-step scalars, computed in double on the host and then rounded to the parameter's type T, as PyTorch
// passes Python floats into its kernels.
template <class T>
struct AdamScalars {
  T weight_decay;        // 0 disables the L2 term
  T one_minus_beta1;     // lerp weight for m
  T beta2, one_minus_beta2;
  T bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  T eps;
  T neg_step_size;       // -lr / (1 - beta1^step)
};

template <class T>
ASYNDGAN_HD void adam_update(T& p, T g, T& m, T& v, const AdamScalars<T>& s) {
  using std::sqrt;  // the float overload on the host; CUDA provides both in device code
  if (s.weight_decay != T(0)) g = g + s.weight_decay * p;
  // torch.lerp(m, g, w): the two-branch form keeps it exact at both ends of w.
  const T w = s.one_minus_beta1;
  const T diff = g - m;
  m = (w < T(0.5)) ? m + w * diff : g - diff * (T(1) - w);
  v = v * s.beta2;
  v = v + s.one_minus_beta2 * g * g;
  const T denom = sqrt(v) / s.bias_correction2_sqrt + s.eps;
  p = p + s.neg_step_size * m / denom;
}

}  // namespace asyndgan::kern
