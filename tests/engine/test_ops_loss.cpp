// Losses: hand-computed values (L1 with sign(0) = 0 and masks, MSE, BCE on logits against the naive formula
// and at saturating logits), finite-difference gradients, 0-D results and typed errors.
#include <doctest/doctest.h>
#include <cmath>
#include "engine/engine.h"
#include "tests/engine/gradcheck.h"
#include "tests/engine/op_test_util.h"

using namespace asyndgan;
using asyndgan::test::gradcheck;
using asyndgan::test::rand_input;

namespace {
const std::vector<Shape> kShapes = {{5}, {3, 4}, {2, 3, 2, 2}};

Tensor vec(const std::vector<double>& v, bool grad = false) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  if (grad) t.set_requires_grad(true);
  return t;
}

// y = x + d with |d| >= 0.1, so |x - y| has no kink within the finite-difference step.
Tensor shifted(const Tensor& x, uint64_t seed) {
  return (x.detach() + test::rand_away_from_zero(x.shape(), seed).detach()).detach().set_requires_grad(true);
}
}  // namespace

TEST_CASE("ops: l1_loss mean, sign(0) = 0 gradient, masks and the empty-mask divisor") {
  Tensor x = vec({1, 2, 3, 4}, true), y = vec({0, 2, 5, 4}, true);
  Tensor l = l1_loss(x, y);
  CHECK(l.dim() == 0);
  CHECK(l.item() == doctest::Approx(0.75));  // (1 + 0 + 2 + 0) / 4
  l.backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{0.25, 0, -0.25, 0});
  CHECK(y.grad().to_doubles() == std::vector<double>{-0.25, 0, 0.25, 0});

  x.zero_grad();
  Tensor mask = vec({1, 1, 0, 1}, true);
  Tensor lm = l1_loss(x, y.detach(), mask);
  CHECK(lm.item() == doctest::Approx(1.0 / 3.0));  // masked-out |3 - 5| drops out; divide by sum(mask) = 3
  lm.backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{1.0 / 3.0, 0, 0, 0});
  CHECK_FALSE(mask.grad().defined());

  Tensor weighted = l1_loss(vec({1, 2, 3, 4}), vec({0, 2, 5, 4}), vec({0.5, 0, 0.25, 0}));
  CHECK(weighted.item() == doctest::Approx(1.0));  // (0.5 + 0.5) / max(0.75, 1)
  Tensor x2 = vec({1, 2}, true);
  Tensor none = l1_loss(x2, vec({0, 0}), vec({0, 0}));
  CHECK(none.item() == 0.0);
  none.backward();
  CHECK(x2.grad().to_doubles() == std::vector<double>{0, 0});
}

TEST_CASE("ops: mse_loss mean of squares with gradient 2 (x - y) / n") {
  Tensor x = vec({1, 2, 3}, true), y = vec({0, 0, 1}, true);
  Tensor l = mse_loss(x, y);
  CHECK(l.dim() == 0);
  CHECK(l.item() == doctest::Approx(3.0));  // (1 + 4 + 4) / 3
  l.backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{2.0 / 3.0, 4.0 / 3.0, 4.0 / 3.0});
  CHECK(y.grad().to_doubles() == std::vector<double>{-2.0 / 3.0, -4.0 / 3.0, -4.0 / 3.0});
  CHECK(mse_loss(Tensor::full({2, 2}, 1.5), Tensor::zeros({2, 2})).item() == 2.25);
}

TEST_CASE("ops: bce_with_logits matches the naive formula and stays finite at saturating logits") {
  std::vector<double> xs = {0, 2, -3, 0.5}, ts = {1, 0, 0.5, 0.25};
  double want = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-xs[i]));
    want -= ts[i] * std::log(s) + (1 - ts[i]) * std::log(1 - s);
  }
  want /= static_cast<double>(xs.size());
  Tensor x = vec(xs, true), t = vec(ts, true);
  Tensor l = bce_with_logits(x, t);
  CHECK(l.dim() == 0);
  CHECK(l.item() == doctest::Approx(want).epsilon(1e-12));
  l.backward();
  for (size_t i = 0; i < xs.size(); ++i) {
    CHECK(x.grad().to_doubles()[i] == doctest::Approx((1.0 / (1.0 + std::exp(-xs[i])) - ts[i]) / 4.0).epsilon(1e-12));
    CHECK(t.grad().to_doubles()[i] == doctest::Approx(-xs[i] / 4.0).epsilon(1e-12));
  }
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    Tensor big = bce_with_logits(Tensor::from_doubles({1000, -1000, 1000}, {3}, dt), Tensor::from_doubles({0, 1, 1}, {3}, dt));
    CHECK(big.item() == doctest::Approx(2000.0 / 3.0));
  }
}

TEST_CASE("ops: loss gradients match finite differences") {
  uint64_t seed = 700;
  for (const Shape& s : kShapes) {
    CAPTURE(shape_str(s));
    Tensor x = rand_input(s, seed++);
    gradcheck("l1_loss", [](const std::vector<Tensor>& in) { return l1_loss(in[0], in[1]); }, {x, shifted(x, seed++)});
    Generator mgen(seed++);
    Tensor mask = Tensor::rand(s, mgen, DType::f64, 0.0, 2.0);
    gradcheck("l1_loss (mask)", [mask](const std::vector<Tensor>& in) { return l1_loss(in[0], in[1], mask); },
              {x, shifted(x, seed++)});
    gradcheck("mse_loss", [](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); },
              {rand_input(s, seed++), rand_input(s, seed++)});
    gradcheck("bce_with_logits", [](const std::vector<Tensor>& in) { return bce_with_logits(in[0], in[1]); },
              {rand_input(s, seed++, -4, 4), rand_input(s, seed++, 0, 1)});
  }
}

TEST_CASE("ops: loss argument errors are typed and name the op") {
  Tensor a = Tensor::zeros({2, 3});
  try {
    mse_loss(a, Tensor::zeros({3, 2}));
    FAIL("mse_loss of mismatched shapes did not throw");
  } catch (const ShapeError& e) {
    std::string m = e.what();
    CHECK(m.find("mse_loss") != std::string::npos);
    CHECK(m.find("[3, 2]") != std::string::npos);
  }
  CHECK_THROWS_AS(l1_loss(a, a, Tensor::zeros({6})), ShapeError);
  CHECK_THROWS_AS(l1_loss(a, Tensor::zeros({2, 3}, DType::f64)), DTypeError);
  CHECK_THROWS_AS(bce_with_logits(a, Tensor()), ValueError);
  CHECK_THROWS_AS(bce_with_logits(Tensor::zeros({0}), Tensor::zeros({0})), ShapeError);
  CHECK_THROWS_AS(l1_loss(Tensor::zeros({2}, DType::i32), Tensor::zeros({2}, DType::i32)), DTypeError);
}
