// Helpers shared by the op tests: running code under a fixed OpenMP thread count, random inputs kept away
// from the kinks of relu, leaky_relu and |x|, where finite differences are meaningless, and the relative error
// that the golden and cross-device comparisons use.
#pragma once
#include <algorithm>
#include <cmath>
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

// max|actual - expected| / max(scale, or max|expected| when scale is 0, 1e-6), on any device and dtype; NaN
// anywhere counts as infinitely wrong. Relative to the largest magnitude, not per element: sums that cancel to
// near zero are as exact as their terms, not as their result.
inline double relative_error(const std::vector<double>& a, const std::vector<double>& e, double scale = 0) {
  if (a.size() != e.size()) return INFINITY;
  double diff = 0, emax = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    const double d = std::fabs(a[i] - e[i]);
    if (!(d <= diff)) diff = d;
    emax = std::max(emax, std::fabs(e[i]));
  }
  return diff / std::max(scale > 0 ? scale : emax, 1e-6);
}
inline double relative_error(const Tensor& actual, const Tensor& expected, double scale = 0) {
  if (actual.shape() != expected.shape()) return INFINITY;
  return relative_error(actual.to_doubles(), expected.to_doubles(), scale);
}

// Values of an [a, b, c, d] array reordered as [a, c, d, b] (NCHW -> NHWC; a weight [c_out, c_in, kh, kw] ->
// [c_out, kh, kw, c_in]), or back with `inverse`.
inline std::vector<double> channels_last(const std::vector<double>& v, int64_t a, int64_t b, int64_t c, int64_t d,
                                         bool inverse) {
  std::vector<double> out(v.size());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t y = 0; y < c; ++y)
        for (int64_t x = 0; x < d; ++x) {
          const int64_t nchw = ((i * b + j) * c + y) * d + x, nhwc = ((i * c + y) * d + x) * b + j;
          out[static_cast<size_t>(inverse ? nchw : nhwc)] = v[static_cast<size_t>(inverse ? nhwc : nchw)];
        }
  return out;
}

}  // namespace asyndgan::test
