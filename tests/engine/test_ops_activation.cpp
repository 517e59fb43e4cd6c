// Activation and dropout ops: hand-computed values (including PyTorch's derivatives at the kinks),
// finite-difference gradients, and dropout's exact Philox mask, reproducibility and thread-count independence.
#include <doctest/doctest.h>
#include <cmath>
#include "engine/engine.h"
#include "tests/engine/gradcheck.h"
#include "tests/engine/op_test_util.h"

using namespace asyndgan;
using asyndgan::test::gradcheck;
using asyndgan::test::rand_away_from_zero;
using asyndgan::test::with_threads;

namespace {
const std::vector<Shape> kShapes = {{7}, {3, 4}, {2, 3, 4, 5}};

Tensor leaf(const std::vector<double>& v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  t.set_requires_grad(true);
  return t;
}
}  // namespace

TEST_CASE("ops: relu and leaky_relu values, with PyTorch's gradient at 0") {
  Tensor x = leaf({-1.5, 0.0, 2.0});
  Tensor y = relu(x);
  CHECK(y.to_doubles() == std::vector<double>{0, 0, 2});
  sum(y).backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{0, 0, 1});

  Tensor x2 = leaf({-1.5, 0.0, 2.0});
  Tensor y2 = leaky_relu(x2, 0.2);
  CHECK(y2.to_doubles() == std::vector<double>{-1.5 * 0.2, 0, 2});
  sum(y2).backward();
  CHECK(x2.grad().to_doubles() == std::vector<double>{0.2, 0.2, 1});  // x > 0 ? 1 : slope
  CHECK(leaky_relu(Tensor::from_vector(std::vector<float>{-2.0f}, {1})).to_vector<float>()[0] == -2.0f * 0.01f);
}

TEST_CASE("ops: tanh and sigmoid values, saturation without NaN, in f32 and f64") {
  std::vector<double> t = tanh(Tensor::from_vector(std::vector<double>{0.0, 0.5, -2.0}, {3})).to_doubles();
  CHECK(t[0] == 0.0);
  CHECK(t[1] == doctest::Approx(0.46211715726000974).epsilon(1e-14));
  CHECK(t[2] == doctest::Approx(-0.9640275800758169).epsilon(1e-14));
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    std::vector<double> s = sigmoid(Tensor::from_doubles({0.0, 2.0, -2.0, 800.0, -800.0}, {5}, dt)).to_doubles();
    CHECK(s[0] == 0.5);
    CHECK(s[1] == doctest::Approx(0.8807970779778823).epsilon(1e-6));
    CHECK(s[2] == doctest::Approx(0.11920292202211755).epsilon(1e-6));
    CHECK(s[3] == 1.0);
    CHECK(s[4] == 0.0);
  }
  Tensor x = leaf({0.0, 1.0});
  sum(sigmoid(x)).backward();  // s (1 - s)
  CHECK(x.grad().to_doubles()[0] == doctest::Approx(0.25));
  CHECK(x.grad().to_doubles()[1] == doctest::Approx(0.19661193324148185).epsilon(1e-12));
  Tensor x2 = leaf({0.5});
  sum(tanh(x2)).backward();  // 1 - tanh^2
  CHECK(x2.grad().to_doubles()[0] == doctest::Approx(1 - 0.46211715726000974 * 0.46211715726000974).epsilon(1e-12));
}

TEST_CASE("ops: activation gradients match finite differences") {
  uint64_t seed = 1;
  for (const Shape& s : kShapes) {
    CAPTURE(shape_str(s));
    gradcheck("relu", [](const std::vector<Tensor>& in) { return relu(in[0]); }, {rand_away_from_zero(s, seed++)});
    gradcheck("leaky_relu", [](const std::vector<Tensor>& in) { return leaky_relu(in[0], 0.2); },
              {rand_away_from_zero(s, seed++)});
    gradcheck("tanh", [](const std::vector<Tensor>& in) { return tanh(in[0]); }, {test::rand_input(s, seed++, -2, 2)});
    gradcheck("sigmoid", [](const std::vector<Tensor>& in) { return sigmoid(in[0]); },
              {test::rand_input(s, seed++, -4, 4)});
  }
}

TEST_CASE("ops: dropout keeps exactly the elements whose Philox uniform is >= p, scaled by 1/(1-p)") {
  const double p = 0.3;
  const int64_t n = 1001;  // not a multiple of 4: the last block is partly used
  Tensor x = Tensor::full({n}, 2.0, DType::f64);
  Generator gen(42);
  gen.set_state(42, 5);  // a generator part-way through its stream
  Tensor y = dropout(x, p, true, gen);
  CHECK(gen.offset() == 5 + (n + 3) / 4);  // one reservation of ceil(n/4) blocks
  std::vector<double> v = y.to_doubles();
  const auto key = kern::philox_key(42);
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = static_cast<double>(kern::uniform01(kern::philox_word(key, 5, static_cast<uint64_t>(i)))) >= p;
    REQUIRE(v[i] == (keep ? 2.0 / (1.0 - p) : 0.0));
  }
  // A uniform exactly equal to p is kept: take p from element 0's own word.
  Generator at(42);
  const double p0 = static_cast<double>(kern::uniform01(kern::philox_word(key, 0, 0)));
  REQUIRE(p0 > 0.0);
  CHECK(dropout(x, p0, true, at).to_doubles()[0] == 2.0 / (1.0 - p0));
}

TEST_CASE("ops: dropout with the same seed gives the same mask, the stream advances between calls") {
  Tensor x = Tensor::ones({4, 8, 16});
  Generator a(7), b(7);
  std::vector<float> first = dropout(x, 0.5, true, a).to_vector<float>();
  CHECK(dropout(x, 0.5, true, b).to_vector<float>() == first);
  CHECK(dropout(x, 0.5, true, a).to_vector<float>() != first);
  Generator c(8);
  CHECK(dropout(x, 0.5, true, c).to_vector<float>() != first);
}

TEST_CASE("ops: dropout's mask does not depend on the OpenMP thread count") {
  Tensor x = Tensor::ones({100000});  // above the kernels' parallel threshold
  auto run = [&]() {
    Generator gen(2024);
    return dropout(x, 0.25, true, gen).to_vector<float>();
  };
  std::vector<float> one = with_threads(1, run), two = with_threads(2, run);
  CHECK(one == two);
}

TEST_CASE("ops: dropout keeps about 1 - p of 100k elements and passes gradients through the mask") {
  for (double p : {0.1, 0.5, 0.8}) {
    CAPTURE(p);
    Tensor x = Tensor::ones({100000}, DType::f64);
    x.set_requires_grad(true);
    Generator gen(99);
    Tensor y = dropout(x, p, true, gen);
    std::vector<double> v = y.to_doubles();
    int64_t kept = 0;
    for (double e : v) kept += e != 0.0;
    // The kept count is binomial: its standard deviation is at most 0.0016 of n here; allow ~6 of them.
    CHECK(std::fabs(static_cast<double>(kept) / 100000.0 - (1.0 - p)) < 0.01);
    sum(y).backward();
    CHECK(x.grad().to_doubles() == v);  // x is all ones, so dL/dx = mask * scale = y
  }
}

TEST_CASE("ops: dropout gradient matches finite differences under a fixed mask") {
  uint64_t seed = 30;
  for (const Shape& s : kShapes) {
    CAPTURE(shape_str(s));
    Generator gen(seed);
    gradcheck("dropout", [gen](const std::vector<Tensor>& in) {
      Generator copy = gen;  // the same mask on every evaluation
      return dropout(in[0], 0.4, true, copy);
    }, {test::rand_input(s, seed++)});
  }
}

TEST_CASE("ops: dropout is the identity without a draw in eval mode or with p = 0, bad p is a ValueError") {
  Tensor x = Tensor::ones({10});
  Generator gen(3);
  CHECK(dropout(x, 0.5, false, gen).same(x));
  CHECK(dropout(x, 0.0, true, gen).same(x));
  CHECK(gen.offset() == 0);
  CHECK_THROWS_AS(dropout(x, 1.0, true, gen), ValueError);
  CHECK_THROWS_AS(dropout(x, -0.1, false, gen), ValueError);
  CHECK_THROWS_AS(dropout(x, std::nan(""), true, gen), ValueError);
  CHECK_THROWS_AS(dropout(Tensor::ones({4}, DType::i32), 0.5, true, gen), DTypeError);
  CHECK(gen.offset() == 0);
}

TEST_CASE("ops: activations reject integer tensors and undefined inputs") {
  Tensor i = Tensor::ones({3}, DType::i32);
  CHECK_THROWS_AS(relu(i), DTypeError);
  CHECK_THROWS_AS(sigmoid(i), DTypeError);
  CHECK_THROWS_AS(tanh(Tensor()), ValueError);
  try {
    leaky_relu(i);
    FAIL("leaky_relu of an i32 tensor did not throw");
  } catch (const DTypeError& e) {
    CHECK(std::string(e.what()).find("leaky_relu") != std::string::npos);
  }
}
