// Ops writing into a given destination (engine/rows.h) and cat of views already side by side: the same bits and
// gradients as the plain ops, the destination's other elements untouched, no copy where none is needed.
#include <doctest/doctest.h>
#include "engine/engine.h"
#include "engine/rows.h"

using namespace asyndgan;

namespace {

constexpr double kSentinel = 7.25;

Tensor input(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn(shape, gen).set_requires_grad(true);
}

// A [N, c0 + C + c1, H, W] buffer of sentinels and its channel range [c0, c0 + C) for an x of shape [N, C, H, W].
struct Dest {
  Tensor buf, range;
  Dest(const Tensor& x, int64_t c0, int64_t c1) {
    buf = Tensor::full({x.size(0), c0 + x.size(1) + c1, x.size(2), x.size(3)}, kSentinel);
    range = buf.narrow(1, c0, x.size(1));
  }
};

bool same_bits(const Tensor& a, const Tensor& b) { return a.shape() == b.shape() && a.to_vector<float>() == b.to_vector<float>(); }

// x's gradient of sum(y * w) for a fixed random w, so every output element gets a distinct gradient.
Tensor grad_of(Tensor x, const Tensor& y) {
  Generator gen(99);
  Tensor w = Tensor::randn(y.shape(), gen);
  x.zero_grad();
  sum(y * w).backward();
  return x.grad();
}

void check_untouched(const Dest& d, int64_t c0, int64_t c) {
  std::vector<float> v = d.buf.to_vector<float>();
  const int64_t hw = d.buf.size(2) * d.buf.size(3), ch = d.buf.size(1);
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    const int64_t channel = i / hw % ch;
    if (channel < c0 || channel >= c0 + c) REQUIRE(v[i] == static_cast<float>(kSentinel));
  }
}

}  // namespace

TEST_CASE("activation_into: each activation writes its bits into a channel range, gradients unchanged") {
  using K = NormActivation::Kind;
  for (NormActivation act : {NormActivation{K::relu}, NormActivation{K::leaky_relu, 0.2}, NormActivation{K::tanh},
                             NormActivation{K::sigmoid}}) {
    Tensor x = input({3, 4, 5, 6}, 1);
    Tensor plain = act.kind == K::relu ? relu(x)
                   : act.kind == K::leaky_relu ? leaky_relu(x, 0.2)
                   : act.kind == K::tanh ? asyndgan::tanh(x) : sigmoid(x);
    Tensor g_plain = grad_of(x, plain);
    Dest d(x, 2, 3);
    Tensor y = activation_into(x, act, d.range);
    CHECK(y.impl().storage == d.buf.impl().storage);
    CHECK(y.raw_data() == d.range.raw_data());
    CHECK(same_bits(y, plain));
    check_untouched(d, 2, 4);
    CHECK(same_bits(grad_of(x, y), g_plain));
  }
  CHECK_THROWS_AS(activation_into(input({2, 3}, 1), NormActivation{}, Tensor::empty({2, 3})), ValueError);
}

TEST_CASE("destinations: shape, layout and autograd history are checked") {
  Tensor x = input({2, 3, 4, 4}, 2);
  const NormActivation lrelu{NormActivation::Kind::leaky_relu, 0.2};
  CHECK_THROWS_AS(activation_into(x, lrelu, Tensor::empty({2, 3, 4, 5})), ShapeError);
  Tensor wide = Tensor::empty({2, 3, 4, 8});
  CHECK_THROWS_AS(activation_into(x, lrelu, wide.narrow(3, 0, 4)), ShapeError);  // not contiguous past dim 0
  CHECK_THROWS_AS(activation_into(x, lrelu, Tensor::empty({2, 3, 4, 4}).set_requires_grad(true)), ValueError);
  CHECK_THROWS_AS(activation_into(x, lrelu, Tensor::empty({2, 3, 4, 4}, DType::f64)), DTypeError);
  CHECK(rows_of(wide.narrow(3, 0, 4)) == std::nullopt);
  const Rows r = *rows_of(Tensor::empty({2, 7, 4, 4}).narrow(1, 3, 2));
  CHECK((r.n == 2 && r.inner == 32 && r.stride == 112 && !r.dense()));
}

TEST_CASE("batch_norm and instance_norm into a destination: same bits, statistics and gradients, with and without "
          "an activation") {
  using K = NormActivation::Kind;
  for (bool batch : {true, false})
    for (NormActivation act : {NormActivation{}, NormActivation{K::leaky_relu, 0.2}, NormActivation{K::relu}}) {
      CAPTURE(batch);
      Tensor x = input({3, 4, 5, 6}, 3);
      Generator gen(4);
      Tensor w = Tensor::rand({4}, gen, DType::f32, 0.5, 1.5).set_requires_grad(true);
      Tensor b = Tensor::randn({4}, gen).set_requires_grad(true);
      Tensor rm0 = Tensor::randn({4}, gen), rv0 = Tensor::rand({4}, gen, DType::f32, 0.5, 2.0);
      auto run = [&](const Tensor& out, Tensor& rm, Tensor& rv) {
        rm = rm0.clone();
        rv = rv0.clone();
        return batch ? batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5, act, out) : instance_norm(x, w, b, 1e-5, act, out);
      };
      Tensor rm_a, rv_a, rm_b, rv_b;
      Tensor plain = run(Tensor(), rm_a, rv_a);
      Tensor gx_a = grad_of(x, plain), gw_a = w.grad(), gb_a = b.grad();
      w.zero_grad();
      b.zero_grad();
      Dest d(x, 1, 2);
      Tensor y = run(d.range, rm_b, rv_b);
      CHECK(y.raw_data() == d.range.raw_data());
      CHECK(same_bits(y, plain));
      check_untouched(d, 1, 4);
      CHECK(same_bits(rm_a, rm_b));
      CHECK(same_bits(rv_a, rv_b));
      CHECK(same_bits(grad_of(x, y), gx_a));
      CHECK(same_bits(w.grad(), gw_a));
      CHECK(same_bits(b.grad(), gb_a));
    }
}

TEST_CASE("dropout into a destination: the same mask and bits as the plain op, identity copies when inactive") {
  Tensor x = input({4, 3, 4, 4}, 5);
  Generator g1(11), g2(11);
  Tensor plain = dropout(x, 0.5, true, g1);
  Tensor gx = grad_of(x, plain);
  Dest d(x, 2, 1);
  Tensor y = dropout(x, 0.5, true, g2, d.range);
  CHECK(g1.offset() == g2.offset());
  CHECK(y.raw_data() == d.range.raw_data());
  CHECK(same_bits(y, plain));
  check_untouched(d, 2, 3);
  CHECK(same_bits(grad_of(x, y), gx));
  Dest e(x, 0, 2);
  Tensor id = dropout(x, 0.5, false, g2, e.range);
  CHECK(same_bits(id, x));
  CHECK(same_bits(grad_of(x, id), grad_of(x, x * 1.0)));
}

TEST_CASE("cat of views side by side in one storage is a view, its backward hands out gradient views") {
  Tensor a = input({2, 3, 4, 4}, 6), b = input({2, 5, 4, 4}, 7);
  Tensor buf = Tensor::empty({2, 8, 4, 4});
  const NormActivation lrelu{NormActivation::Kind::leaky_relu, 0.2};
  Tensor ya = activation_into(a, lrelu, buf.narrow(1, 0, 3)), yb = activation_into(b, lrelu, buf.narrow(1, 3, 5));
  Tensor viewed = cat({ya, yb}, 1);
  CHECK(viewed.impl().storage == buf.impl().storage);
  CHECK(viewed.raw_data() == buf.raw_data());
  Tensor copied = cat({leaky_relu(a, 0.2), leaky_relu(b, 0.2)}, 1);
  CHECK(viewed.impl().storage != copied.impl().storage);
  CHECK(same_bits(viewed, copied));
  Generator gen(8);
  Tensor w = Tensor::randn(viewed.shape(), gen);
  sum(copied * w).backward();
  Tensor ga = a.grad(), gb = b.grad();
  a.zero_grad();
  b.zero_grad();
  sum(viewed * w).backward();
  CHECK(same_bits(a.grad(), ga));
  CHECK(same_bits(b.grad(), gb));
  // Out of order, or with a gap: copied.
  CHECK(cat({yb, ya}, 1).impl().storage != buf.impl().storage);
  CHECK(cat({buf.narrow(1, 0, 2), buf.narrow(1, 3, 2)}, 1).impl().storage != buf.impl().storage);
}
