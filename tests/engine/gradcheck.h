// Finite-difference gradient check in float64, shared by the op tests.
#pragma once
#include <doctest/doctest.h>
#include <cmath>
#include <functional>
#include <string>
#include <vector>
#include "engine/engine.h"

namespace asyndgan::test {

// Random f64 tensor that requires grad, from a fixed-seed generator.
inline Tensor rand_input(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0) {
  Generator gen(seed);
  Tensor t = Tensor::rand(shape, gen, DType::f64, low, high);
  t.set_requires_grad(true);
  return t;
}

// Compares autograd's gradient of L = sum(f(inputs) * R) (R a fixed random weighting, so non-scalar outputs
// are covered) with central differences, for every element of every input that requires grad. With
// no_grad_is_zero, an input that gets no gradient counts as one with an all-zero gradient (a bias that f never
// applies because a norm would cancel it) and the differences must find zero there; otherwise it fails.
inline void gradcheck(const std::string& what, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                      std::vector<Tensor> inputs, double eps = 1e-6, double atol = 1e-6, double rtol = 1e-5,
                      bool no_grad_is_zero = false) {
  CAPTURE(what);
  Tensor out = f(inputs);
  Generator wgen(12345);
  Tensor weights = Tensor::rand(out.shape(), wgen, DType::f64, -1.0, 1.0);
  for (Tensor& t : inputs) t.zero_grad();
  out = f(inputs);
  out.backward(weights);

  auto loss = [&]() {
    NoGradGuard ng;
    Tensor o = f(inputs);
    std::vector<double> ov = o.to_doubles(), wv = weights.to_doubles();
    double s = 0;
    for (size_t i = 0; i < ov.size(); ++i) s += ov[i] * wv[i];
    return s;
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& in = inputs[k];
    if (!in.defined() || !in.requires_grad()) continue;
    REQUIRE_MESSAGE((in.grad().defined() || no_grad_is_zero), what << ": input " << k << " got no gradient");
    std::vector<double> analytic =
        in.grad().defined() ? in.grad().to_doubles() : std::vector<double>(static_cast<size_t>(in.numel()), 0.0);
    double* p = in.data<double>();
    for (int64_t i = 0; i < in.numel(); ++i) {
      double saved = p[i];
      p[i] = saved + eps;
      double lp = loss();
      p[i] = saved - eps;
      double lm = loss();
      p[i] = saved;
      double numeric = (lp - lm) / (2 * eps);
      double err = std::fabs(numeric - analytic[i]);
      if (err > atol + rtol * std::fabs(numeric)) {
        FAIL_CHECK(what << ": input " << k << " element " << i << ": analytic " << analytic[i] << " vs numeric "
                        << numeric);
        return;
      }
    }
  }
}

}  // namespace asyndgan::test
