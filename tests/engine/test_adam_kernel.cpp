// The CPU Adam kernel: bitwise adam_update's operations as written (no fused multiply-add), on every element.
#include <doctest/doctest.h>
#include <random>
#include <vector>
#include "kernels/cpu/adam.h"
#include "kernels/common/adam_math.h"

using namespace asyndgan;

namespace {

// adam_step over n elements against adam_update element by element, compiled here: this file is built for the
// baseline ISA (no -march=native), which has no FMA to fuse into, so it is the unfused update. Three steps, so
// that m and v are live.
template <class T> void check_vector_equals_scalar(const kern::AdamScalars<T>& s, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> p(static_cast<size_t>(n)), g(p.size()), m(p.size()), v(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<T>(u(rng)), g[i] = static_cast<T>(u(rng) * 1e-2);
    m[i] = static_cast<T>(u(rng) * 1e-3), v[i] = static_cast<T>(std::abs(u(rng)) * 1e-5);
  }
  std::vector<T> p1 = p, m1 = m, v1 = v;
  for (int step = 0; step < 3; ++step) {
    kern::cpu::adam_step(p.data(), g.data(), m.data(), v.data(), n, s);
    for (size_t i = 0; i < p.size(); ++i) kern::adam_update<T>(p1[i], g[i], m1[i], v1[i], s);
  }
  CHECK(p == p1);
  CHECK(m == m1);
  CHECK(v == v1);
}

}  // namespace

TEST_CASE("cpu adam_step: bitwise the unfused element-by-element update, every element (f32, f64)") {
  // Both lerp branches (1 - beta1 below and above 0.5), with and without weight decay; sizes with and without a
  // tail and over several parallel blocks.
  for (double one_minus_beta1 : {0.5, 0.1, 0.75})
    for (double wd : {0.0, 0.01})
      for (int64_t n : {int64_t{5}, int64_t{64}, int64_t{100003}}) {
        CAPTURE(one_minus_beta1);
        CAPTURE(wd);
        CAPTURE(n);
        check_vector_equals_scalar<float>({float(wd), float(one_minus_beta1), 0.999f, 0.001f, 0.0447f, 1e-8f, -2e-4f}, n, 7);
        check_vector_equals_scalar<double>({wd, one_minus_beta1, 0.999, 0.001, 0.0447, 1e-8, -2e-4}, n, 8);
      }
}
