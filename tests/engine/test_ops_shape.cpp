// reflection_pad2d and cat: PyTorch's reflection pattern, scatter-added gradients, concatenation along any
// dim with gradients routed to each input's slice, and typed errors.
#include <doctest/doctest.h>
#include <numeric>
#include "engine/engine.h"
#include "tests/engine/gradcheck.h"

using namespace asyndgan;
using asyndgan::test::gradcheck;
using asyndgan::test::rand_input;

namespace {
Tensor arange(const Shape& shape, DType dt = DType::f64) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  std::iota(v.begin(), v.end(), 0.0);
  return Tensor::from_doubles(v, shape, dt);
}
}  // namespace

TEST_CASE("ops: reflection_pad2d reproduces PyTorch's ReflectionPad2d pattern") {
  // The examples of torch.nn.ReflectionPad2d's documentation, on arange(9) as [1, 1, 3, 3].
  Tensor x = arange({1, 1, 3, 3});
  Tensor y = reflection_pad2d(x, 2, 2, 2, 2);
  CHECK(y.shape() == Shape{1, 1, 7, 7});
  CHECK(y.to_doubles() == std::vector<double>{8, 7, 6, 7, 8, 7, 6, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0,
                                              5, 4, 3, 4, 5, 4, 3, 8, 7, 6, 7, 8, 7, 6, 5, 4, 3, 4, 5, 4, 3,
                                              2, 1, 0, 1, 2, 1, 0});
  Tensor z = reflection_pad2d(x.to(DType::f32), 1, 1, 2, 0);  // {left, right, top, bottom}
  CHECK(z.shape() == Shape{1, 1, 5, 5});
  CHECK(z.to_doubles() == std::vector<double>{7, 6, 7, 8, 7, 4, 3, 4, 5, 4, 1, 0, 1, 2, 1, 4, 3, 4, 5, 4, 7, 6, 7, 8, 7});
  // 3-D input [C, H, W], asymmetric pads, two planes padded independently.
  Tensor w = reflection_pad2d(arange({2, 2, 3}), 0, 2, 0, 1);
  CHECK(w.shape() == Shape{2, 3, 5});
  CHECK(w.to_doubles() == std::vector<double>{0, 1, 2, 1, 0, 3, 4, 5, 4, 3, 0, 1, 2, 1, 0,
                                              6, 7, 8, 7, 6, 9, 10, 11, 10, 9, 6, 7, 8, 7, 6});
}

TEST_CASE("ops: reflection_pad2d backward adds the gradient of every output that reads an element") {
  Tensor x = arange({1, 1, 2, 3});
  x.set_requires_grad(true);
  sum(reflection_pad2d(x, 2, 1, 1, 0)).backward();
  // Columns are read {1, 3, 2} times (c-2 over 0..5 -> 2,1,0,1,2,1), rows {1, 2} times (r-1 over 0..2 -> 1,0,1).
  CHECK(x.grad().to_doubles() == std::vector<double>{1, 3, 2, 2, 6, 4});
}

TEST_CASE("ops: reflection_pad2d gradient matches finite differences") {
  struct Case { Shape shape; int64_t l, r, t, b; };
  const std::vector<Case> cases = {{{2, 3, 4, 5}, 3, 1, 2, 3}, {{1, 2, 3, 3}, 2, 2, 2, 2}, {{3, 5, 6}, 0, 5, 4, 1}};
  uint64_t seed = 500;
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.shape));
    gradcheck("reflection_pad2d", [&](const std::vector<Tensor>& in) {
      return reflection_pad2d(in[0], c.l, c.r, c.t, c.b);
    }, {rand_input(c.shape, seed++)});
  }
}

TEST_CASE("ops: reflection_pad2d rejects pads not smaller than the dim, negative pads and wrong ranks") {
  Tensor x = Tensor::zeros({1, 1, 3, 4});
  try {
    reflection_pad2d(x, 0, 0, 3, 0);
    FAIL("a pad equal to the height did not throw");
  } catch (const ShapeError& e) {
    std::string m = e.what();
    CHECK(m.find("reflection_pad2d") != std::string::npos);
    CHECK(m.find("[1, 1, 3, 4]") != std::string::npos);
  }
  CHECK_THROWS_AS(reflection_pad2d(x, 4, 0, 0, 0), ShapeError);
  CHECK_NOTHROW(reflection_pad2d(x, 3, 3, 2, 2));
  CHECK_THROWS_AS(reflection_pad2d(x, -1, 0, 0, 0), ValueError);
  CHECK_THROWS_AS(reflection_pad2d(Tensor::zeros({3, 4}), 1, 1, 1, 1), ShapeError);
  CHECK_THROWS_AS(reflection_pad2d(Tensor::zeros({1, 1, 1, 3, 4}), 1, 1, 1, 1), ShapeError);
}

TEST_CASE("ops: cat along each dim, negative dims, and strided inputs") {
  Tensor a = arange({2, 1, 2}), b = arange({2, 2, 2}) + 10.0;
  Tensor c1 = cat({a, b}, 1);
  CHECK(c1.shape() == Shape{2, 3, 2});
  CHECK(c1.to_doubles() == std::vector<double>{0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17});
  CHECK(cat({a, b}, -2).to_doubles() == c1.to_doubles());
  Tensor c0 = cat({arange({1, 2}), arange({2, 2}) + 5.0}, 0);
  CHECK(c0.to_doubles() == std::vector<double>{0, 1, 5, 6, 7, 8});
  Tensor c2 = cat({arange({2, 2}), arange({2, 1}) + 5.0, arange({2, 3}) + 7.0}, -1);
  CHECK(c2.shape() == Shape{2, 6});
  CHECK(c2.to_doubles() == std::vector<double>{0, 1, 5, 7, 8, 9, 2, 3, 6, 10, 11, 12});
  Tensor strided = arange({2, 4}).narrow(1, 1, 2);  // {1, 2, 5, 6}, not contiguous
  CHECK(cat({strided, arange({2, 1})}, 1).to_doubles() == std::vector<double>{1, 2, 0, 5, 6, 1});
  CHECK(cat({arange({2, 2}, DType::f32)}, 0).to_doubles() == std::vector<double>{0, 1, 2, 3});
  // The U-Net skip connection: NCHW along channels, large enough to copy in parallel.
  Tensor s1 = arange({2, 64, 32, 32}, DType::f32), s2 = arange({2, 32, 32, 32}, DType::f32);
  Tensor u = cat({s1, s2}, 1);
  CHECK(u.shape() == Shape{2, 96, 32, 32});
  CHECK(u.narrow(1, 0, 64).to_vector<float>() == s1.to_vector<float>());
  CHECK(u.narrow(1, 64, 32).to_vector<float>() == s2.to_vector<float>());
}

TEST_CASE("ops: cat gives each input its slice of the gradient") {
  Tensor a = rand_input({2, 1, 3}, 1), b = rand_input({2, 2, 3}, 2);
  Tensor fixed = Tensor::ones({2, 1, 3}, DType::f64);
  Tensor g = arange({2, 4, 3});
  cat({a, fixed, b}, 1).backward(g);
  CHECK(a.grad().to_doubles() == std::vector<double>{0, 1, 2, 12, 13, 14});
  CHECK(b.grad().to_doubles() == std::vector<double>{6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23});
  uint64_t seed = 600;
  for (int64_t d : {0, 1, 2, -1}) {
    CAPTURE(d);
    Shape s0 = {2, 3, 4}, s1 = s0, s2 = s0;
    const int64_t dd = d < 0 ? d + 3 : d;
    s1[dd] = 1;
    s2[dd] = 2;
    gradcheck("cat", [d](const std::vector<Tensor>& in) { return cat(in, d); },
              {rand_input(s0, seed++), rand_input(s1, seed++), rand_input(s2, seed++)});
  }
}

TEST_CASE("ops: cat argument errors are typed and name the op") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 3});
  try {
    cat({a, b}, 1);
    FAIL("cat with mismatched non-cat dims did not throw");
  } catch (const ShapeError& e) {
    std::string m = e.what();
    CHECK(m.find("cat") != std::string::npos);
    CHECK(m.find("[3, 3]") != std::string::npos);
  }
  CHECK_NOTHROW(cat({a, b}, 0));
  CHECK_THROWS_AS(cat({}, 0), ValueError);
  CHECK_THROWS_AS(cat({a, a}, 2), ShapeError);
  CHECK_THROWS_AS(cat({a, a}, -3), ShapeError);
  CHECK_THROWS_AS(cat({a, Tensor::zeros({2})}, 0), ShapeError);
  CHECK_THROWS_AS(cat({a, Tensor::zeros({2, 3}, DType::f64)}, 0), DTypeError);
  CHECK_THROWS_AS(cat({a, Tensor()}, 0), ValueError);
  CHECK_THROWS_AS(cat({Tensor::scalar(1.0), Tensor::scalar(2.0)}, 0), ShapeError);
}
