// Helpers shared by the op tests: running code under a fixed OpenMP thread count, and random inputs kept
// away from the kinks of relu, leaky_relu and |x|, where finite differences are meaningless.
#pragma once
#include <vector>
#include "engine/engine.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace asyndgan::test {

// Runs f() with `threads` OpenMP threads, restoring the previous setting afterwards.
template <class F>
auto with_threads(int threads, F f) {
#ifdef _OPENMP
  struct Restore {
    int previous = omp_get_max_threads();
    ~Restore() { omp_set_num_threads(previous); }
  } restore;
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
  return f();
}

// f64 values with |v| in [margin, margin + 1], random sign; requires grad.
inline Tensor rand_away_from_zero(const Shape& shape, uint64_t seed, double margin = 0.1) {
  Generator gen(seed);
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64, -1.0, 1.0).to_doubles();
  for (double& e : v) e += e >= 0 ? margin : -margin;
  Tensor t = Tensor::from_vector(v, shape);
  t.set_requires_grad(true);
  return t;
}

}  // namespace asyndgan::test
