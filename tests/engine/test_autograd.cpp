// Autograd engine: accumulation into leaves, no-grad scope, detach, non-scalar roots, multiple roots.
#include <doctest/doctest.h>
#include "engine/engine.h"

using namespace asyndgan;

static Tensor leaf(std::vector<double> v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  t.set_requires_grad(true);
  return t;
}

TEST_CASE("autograd: gradients of a shared input accumulate within and across backward calls") {
  Tensor x = leaf({1, 2, 3});
  Tensor y = sum(mul(x, x) + x);  // dy/dx = 2x + 1
  y.backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{3, 5, 7});
  sum(mul_scalar(x, 2.0)).backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{5, 7, 9});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("autograd: a non-scalar root takes a supplied gradient, as the central node does") {
  Tensor x = leaf({1, 2});
  Tensor y = mul_scalar(x, 3.0);
  CHECK_THROWS_AS(y.backward(), ShapeError);
  Tensor y2 = mul_scalar(x, 3.0);
  CHECK_THROWS_AS(y2.backward(Tensor::ones({3}, DType::f64)), ShapeError);
  Tensor y3 = mul_scalar(x, 3.0);
  y3.backward(Tensor::from_vector(std::vector<double>{0.5, -1}, {2}));
  CHECK(x.grad().to_doubles() == std::vector<double>{1.5, -3});
}

TEST_CASE("autograd: several roots in one backward sum their contributions") {
  Tensor x = leaf({1, 2});
  Tensor a = mul_scalar(x, 2.0), b = mul(x, x);
  backward({a, b}, {Tensor::ones({2}, DType::f64), Tensor::full({2}, 0.5, DType::f64)});
  CHECK(x.grad().to_doubles() == std::vector<double>{3, 4});  // 2 + 0.5 * 2x
}

TEST_CASE("autograd: no-grad scope and detach record nothing") {
  Tensor x = leaf({1, 2});
  {
    NoGradGuard ng;
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK(grad_enabled());
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.impl().storage == x.impl().storage);
  Tensor z = mul(x, d);  // gradient flows only through x
  sum(z).backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{1, 2});
}

TEST_CASE("autograd: second backward without retain_graph is a clear error, with it, works") {
  Tensor x = leaf({2});
  Tensor y = sum(mul(x, x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{8});
  CHECK_THROWS_AS(y.backward(), ValueError);
}

TEST_CASE("autograd: views (narrow, view, reshape) route gradients to the right elements") {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  x.set_requires_grad(true);
  Tensor part = x.narrow(1, 1, 2).contiguous().view({4});
  sum(mul(part, part)).backward();
  CHECK(x.grad().to_doubles() == std::vector<double>{0, 4, 6, 0, 10, 12});
}

TEST_CASE("autograd: backward from a tensor that needs no grad is refused") {
  Tensor x = Tensor::ones({2});
  CHECK_THROWS_AS(sum(x).backward(), ValueError);
}

TEST_CASE("autograd: a leaf's gradient never aliases a tensor the caller still holds") {
  Tensor x = leaf({1, 2});
  Tensor g = Tensor::from_vector(std::vector<double>{3, 4}, {2});
  x.backward(g);  // the root is the leaf itself: its gradient is the caller's tensor
  g.fill_(0);
  CHECK(x.grad().to_doubles() == std::vector<double>{3, 4});
  CHECK(x.grad().impl().storage != g.impl().storage);
}
