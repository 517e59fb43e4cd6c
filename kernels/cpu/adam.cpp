// The CPU Adam loop, parallel with OpenMP over elements (each element is independent).
#include "kernels/cpu/adam.h"

namespace asyndgan::kern::cpu {

template <class T>
void adam_step(T* param, const T* grad, T* m, T* v, int64_t n, const AdamScalars<T>& s) {
#pragma omp parallel for if (n > (1 << 14)) schedule(static)
  for (int64_t i = 0; i < n; ++i) adam_update<T>(param[i], grad[i], m[i], v[i], s);
}

template void adam_step<float>(float*, const float*, float*, float*, int64_t, const AdamScalars<float>&);
template void adam_step<double>(double*, const double*, double*, double*, int64_t, const AdamScalars<double>&);

}  // namespace asyndgan::kern::cpu
