// The CPU Adam loop, parallel with OpenMP over blocks of elements (each element is independent) and vectorized by
// running adam_update itself on a vector of elements at once (kernels/cpu/lanes.h).
#include "kernels/cpu/adam.h"
#include <algorithm>
#include "kernels/cpu/lanes.h"

namespace asyndgan::kern::cpu {
namespace {

constexpr int64_t kBlock = 1 << 14;  // elements per parallel unit

// adam_update over [0, n), a vector of elements at a time through Lanes<T> (the scalars broadcast; the last,
// partial vector zero-filled), so every element gets the same unfused operations wherever it sits. A scalar
// loop stays scalar whatever the flags (sqrt's errno branch is control flow the vectorizer refuses), and Adam
// runs over every parameter of G and of the discriminators each step: 3x slower so.
template <class T>
void adam_range(T* param, const T* grad, T* m, T* v, int64_t n, const AdamScalars<T>& s) {
  if constexpr (Lanes<T>::vectorized) {
    const AdamScalars<Lanes<T>> sv{Lanes<T>(s.weight_decay),          Lanes<T>(s.one_minus_beta1),
                                   Lanes<T>(s.beta2),                 Lanes<T>(s.one_minus_beta2),
                                   Lanes<T>(s.bias_correction2_sqrt), Lanes<T>(s.eps),
                                   Lanes<T>(s.neg_step_size)};
    auto update = [&](int64_t i, int64_t k) {
      Lanes<T> p = Lanes<T>::load(param + i, k), mv = Lanes<T>::load(m + i, k), vv = Lanes<T>::load(v + i, k);
      adam_update<Lanes<T>>(p, Lanes<T>::load(grad + i, k), mv, vv, sv);
      p.store(param + i, k), mv.store(m + i, k), vv.store(v + i, k);
    };
    int64_t i = 0;
    for (; i + Lanes<T>::size <= n; i += Lanes<T>::size) update(i, Lanes<T>::size);  // a constant size: plain loads
    if (i < n) update(i, n - i);
  } else {
    for (int64_t i = 0; i < n; ++i) adam_update<T>(param[i], grad[i], m[i], v[i], s);
  }
}

}  // namespace

template <class T>
void adam_step(T* param, const T* grad, T* m, T* v, int64_t n, const AdamScalars<T>& s) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for if (blocks > 1) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t i = b * kBlock;
    adam_range(param + i, grad + i, m + i, v + i, std::min(kBlock, n - i), s);
  }
}

template void adam_step<float>(float*, const float*, float*, float*, int64_t, const AdamScalars<float>&);
template void adam_step<double>(double*, const double*, double*, double*, int64_t, const AdamScalars<double>&);

}  // namespace asyndgan::kern::cpu
