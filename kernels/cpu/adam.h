// The CPU Adam step over contiguous host buffers.
#pragma once
#include <cstdint>
#include "kernels/common/adam_math.h"

namespace asyndgan::kern::cpu {

// Applies adam_update to n elements in place (param, m, v), in parallel; the result does not depend on threads.
template <class T>
void adam_step(T* param, const T* grad, T* m, T* v, int64_t n, const AdamScalars<T>& s);

}  // namespace asyndgan::kern::cpu
