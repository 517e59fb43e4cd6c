// Batch and instance normalization: hand-computed outputs and running-stat updates, finite-difference
// gradients in training and eval mode with and without affine parameters, determinism and typed errors.
#include <doctest/doctest.h>
#include <cmath>
#include "engine/engine.h"
#include "tests/engine/gradcheck.h"
#include "tests/engine/op_test_util.h"

using namespace asyndgan;
using asyndgan::test::gradcheck;
using asyndgan::test::rand_input;

namespace {

// [2, 2, 1, 2]: channel 0 holds {1, 2 | 3, 4}, channel 1 holds {0, 0 | 2, 2} (sample 0 | sample 1).
Tensor small_batch() { return Tensor::from_vector(std::vector<double>{1, 2, 0, 0, 3, 4, 2, 2}, {2, 2, 1, 2}); }

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol).scale(1.0));
  }
}

Tensor stat(const std::vector<double>& v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); }

}  // namespace

TEST_CASE("ops: batch_norm training normalizes with batch statistics and updates running stats (unbiased var)") {
  Tensor rm = stat({0, 0}), rv = stat({1, 1});
  Tensor w = stat({2, 3}), b = stat({0.5, -1});
  Tensor y = batch_norm(small_batch(), w, b, rm, rv, true, 0.1, 0.0);
  // channel 0: mean 2.5, biased var 1.25; channel 1: mean 1, biased var 1.
  const double k0 = 2.0 / std::sqrt(1.25);
  check_close(y.to_doubles(), {-1.5 * k0 + 0.5, -0.5 * k0 + 0.5, -4, -4, 0.5 * k0 + 0.5, 1.5 * k0 + 0.5, 2, 2});
  // running = 0.9 * running + 0.1 * stat, with unbiased variances 5/3 and 4/3.
  check_close(rm.to_doubles(), {0.25, 0.1});
  check_close(rv.to_doubles(), {0.9 + 0.1 * 5.0 / 3.0, 0.9 + 0.1 * 4.0 / 3.0});
  batch_norm(small_batch(), Tensor(), Tensor(), rm, rv, true, 0.5, 0.0);
  check_close(rm.to_doubles(), {0.5 * 0.25 + 0.5 * 2.5, 0.5 * 0.1 + 0.5 * 1.0});

  // Without affine parameters or running statistics: plain standardization.
  Tensor z = batch_norm(small_batch(), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 0.0);
  const double s0 = 1.0 / std::sqrt(1.25);
  check_close(z.to_doubles(), {-1.5 * s0, -0.5 * s0, -1, -1, 0.5 * s0, 1.5 * s0, 1, 1});
}

TEST_CASE("ops: batch_norm eval mode uses the running statistics and leaves them unchanged") {
  Tensor rm = stat({1, 2}), rv = stat({4, 0.25});
  Tensor y = batch_norm(small_batch(), stat({2, 3}), stat({0.5, -1}), rm, rv, false, 0.1, 0.0);
  // channel 0: (x - 1) / 2 * 2 + 0.5; channel 1: (x - 2) / 0.5 * 3 - 1.
  check_close(y.to_doubles(), {0.5, 1.5, -13, -13, 2.5, 3.5, -1, -1});
  CHECK(rm.to_doubles() == std::vector<double>{1, 2});
  CHECK(rv.to_doubles() == std::vector<double>{4, 0.25});
  // eps enters as 1 / sqrt(var + eps).
  Tensor y2 = batch_norm(small_batch(), Tensor(), Tensor(), rm, rv, false, 0.1, 0.75);
  CHECK(y2.to_doubles()[2] == doctest::Approx((0.0 - 2.0) / 1.0));
}

TEST_CASE("ops: batch_norm in f32 agrees with f64") {
  Generator gen(5);
  Tensor x = Tensor::randn({3, 4, 5, 6}, gen, DType::f64, 2.0, 3.0);
  Tensor rm = Tensor::zeros({4}, DType::f32), rv = Tensor::ones({4}, DType::f32);
  std::vector<double> want = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true).to_doubles();
  std::vector<double> got = batch_norm(x.to(DType::f32), Tensor(), Tensor(), rm, rv, true).to_doubles();
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5).scale(1.0));
}

TEST_CASE("ops: batch_norm gradients match finite differences, training and eval, with and without affine") {
  const std::vector<Shape> shapes = {{2, 3, 4, 5}, {4, 2, 3}, {5, 3}, {3, 1, 2, 2}};
  uint64_t seed = 100;
  for (const Shape& s : shapes) {
    CAPTURE(shape_str(s));
    const int64_t c = s[1];
    for (bool training : {true, false}) {
      CAPTURE(training);
      Tensor rm = rand_input({c}, seed++, -0.5, 0.5).detach();
      Tensor rv = rand_input({c}, seed++, 0.5, 1.5).detach();
      gradcheck("batch_norm (no affine)", [&](const std::vector<Tensor>& in) {
        return batch_norm(in[0], Tensor(), Tensor(), rm, rv, training);
      }, {rand_input(s, seed++, -2, 2)});
      gradcheck("batch_norm (affine)", [&](const std::vector<Tensor>& in) {
        return batch_norm(in[0], in[1], in[2], rm, rv, training);
      }, {rand_input(s, seed++, -2, 2), rand_input({c}, seed++, 0.5, 1.5), rand_input({c}, seed++)});
      gradcheck("batch_norm (weight only)", [&](const std::vector<Tensor>& in) {
        return batch_norm(in[0], in[1], Tensor(), rm, rv, training);
      }, {rand_input(s, seed++, -2, 2), rand_input({c}, seed++, 0.5, 1.5)});
    }
  }
}

TEST_CASE("ops: batch_norm output, running stats and gradients do not depend on the thread count") {
  Generator gen(11);
  Tensor x = Tensor::randn({2, 3, 128, 128}, gen);
  Tensor gy = Tensor::randn(x.shape(), gen);
  auto run = [&]() {
    Tensor xl = x.clone().set_requires_grad(true);
    Tensor w = Tensor::full({3}, 1.5).set_requires_grad(true);
    Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3});
    Tensor y = batch_norm(xl, w, Tensor(), rm, rv, true);
    y.backward(gy);
    std::vector<float> all = y.to_vector<float>();
    for (const Tensor& t : {rm, rv, xl.grad(), w.grad()})
      for (float v : t.to_vector<float>()) all.push_back(v);
    return all;
  };
  CHECK(test::with_threads(1, run) == test::with_threads(2, run));
}

TEST_CASE("ops: instance_norm normalizes each sample and channel over H x W") {
  // Sample 1 is an affine image of sample 0 (10x + 5), so its normalized values are the same.
  std::vector<double> s0 = {1, 2, 3, 4, 0, 0, 2, 2};
  std::vector<double> v = s0;
  for (double e : s0) v.push_back(10 * e + 5);
  Tensor x = Tensor::from_vector(v, {2, 2, 2, 2});
  const double k = 1.0 / std::sqrt(1.25);
  std::vector<double> plain = {-1.5 * k, -0.5 * k, 0.5 * k, 1.5 * k, -1, -1, 1, 1};
  std::vector<double> want = plain;
  want.insert(want.end(), plain.begin(), plain.end());
  check_close(instance_norm(x, Tensor(), Tensor(), 0.0).to_doubles(), want, 1e-10);

  std::vector<double> affine;
  for (size_t i = 0; i < want.size(); ++i) affine.push_back(want[i] * ((i / 4) % 2 == 0 ? 2.0 : 3.0) + ((i / 4) % 2 == 0 ? 0.5 : -1.0));
  check_close(instance_norm(x, stat({2, 3}), stat({0.5, -1}), 0.0).to_doubles(), affine, 1e-10);
}

TEST_CASE("ops: instance_norm gradients match finite differences, with and without affine") {
  const std::vector<Shape> shapes = {{2, 3, 4, 4}, {1, 2, 5}, {3, 2, 2, 3}};
  uint64_t seed = 300;
  for (const Shape& s : shapes) {
    CAPTURE(shape_str(s));
    const int64_t c = s[1];
    gradcheck("instance_norm (no affine)", [](const std::vector<Tensor>& in) {
      return instance_norm(in[0], Tensor(), Tensor());
    }, {rand_input(s, seed++, -2, 2)});
    gradcheck("instance_norm (affine)", [](const std::vector<Tensor>& in) {
      return instance_norm(in[0], in[1], in[2]);
    }, {rand_input(s, seed++, -2, 2), rand_input({c}, seed++, 0.5, 1.5), rand_input({c}, seed++)});
  }
}

TEST_CASE("ops: normalization argument errors are typed and name the op") {
  Tensor x = Tensor::zeros({2, 3, 4, 4});
  Tensor c3 = Tensor::ones({3}), c4 = Tensor::ones({4});
  try {
    batch_norm(x, c4, Tensor(), Tensor(), Tensor(), true);
    FAIL("a weight of the wrong size did not throw");
  } catch (const ShapeError& e) {
    std::string m = e.what();
    CHECK(m.find("batch_norm") != std::string::npos);
    CHECK(m.find("[2, 3, 4, 4]") != std::string::npos);
  }
  CHECK_THROWS_AS(batch_norm(Tensor::zeros({3}), Tensor(), Tensor(), Tensor(), Tensor(), true), ShapeError);
  CHECK_THROWS_AS(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false), ValueError);
  CHECK_THROWS_AS(batch_norm(x, Tensor(), Tensor(), c3, Tensor(), true), ValueError);
  CHECK_THROWS_AS(batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true), ValueError);
  CHECK_THROWS_AS(batch_norm(x, Tensor::ones({3}, DType::f64), Tensor(), Tensor(), Tensor(), true), DTypeError);
  CHECK_THROWS_AS(batch_norm(x.to(DType::i32), Tensor(), Tensor(), Tensor(), Tensor(), true), DTypeError);
  CHECK_THROWS_AS(instance_norm(Tensor::zeros({2, 3}), Tensor(), Tensor()), ShapeError);
  CHECK_THROWS_AS(instance_norm(Tensor::zeros({2, 3, 1, 1}), Tensor(), Tensor()), ValueError);
  CHECK_THROWS_AS(instance_norm(x, Tensor(), c4), ShapeError);
}
