// Per-element arithmetic of the linear elementwise ops (add/sub/scale/accumulate), shared by the CPU and CUDA
// kernels so both backends evaluate the same expression.
#pragma once
#include "base/hostdevice.h"

namespace asyndgan::kern {

template <class T> ASYNDGAN_HD T axpby_value(T alpha, T a, T beta, T b) { return alpha * a + beta * b; }
template <class T> ASYNDGAN_HD T affine_value(T a, T scale, T shift) { return scale * a + shift; }
template <class T> ASYNDGAN_HD T axpy_value(T a, T alpha, T b) { return a + alpha * b; }

}  // namespace asyndgan::kern
