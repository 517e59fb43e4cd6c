// The Philox4x32-10 generator against Random123's known-answer vectors, and Tensor::randn's stream:
// independent of the thread count, standard-normal moments, and generator bookkeeping.
#include <doctest/doctest.h>
#include <cmath>
#include "engine/engine.h"
#include "tests/engine/op_test_util.h"

using namespace asyndgan;

namespace {
void check_kat(kern::Philox4 counter, kern::PhiloxKey key, kern::Philox4 want) {
  kern::Philox4 got = kern::philox4x32_10(counter, key);
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(got.v[i] == want.v[i]);
  }
}
}  // namespace

// The three "philox4x32 10" lines of Random123's tests/kat_vectors: counter[4] key[2] -> output[4].
TEST_CASE("rng: philox4x32_10 matches the Random123 known-answer vectors") {
  check_kat({{0, 0, 0, 0}}, {0, 0}, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
  check_kat({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, {0xffffffffu, 0xffffffffu},
            {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
  check_kat({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, {0xa4093822u, 0x299f31d0u},
            {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
  // Block 0 of seed 0 is the all-zero vector; a seed's low word is key word 0 and its high word key word 1.
  CHECK(kern::philox_block(kern::philox_key(0), 0).v[0] == 0x6627e8d5u);
  CHECK(kern::philox_word(kern::philox_key(0), 0, 3) == 0x9b00dbd8u);
  const kern::PhiloxKey k = kern::philox_key(0x299f31d0a4093822ull);
  CHECK(k.k0 == 0xa4093822u);
  CHECK(k.k1 == 0x299f31d0u);
}

TEST_CASE("rng: Tensor::randn is independent of the thread count, standard normal, and advances the generator") {
  const int64_t n = 100001;  // above randn's parallel threshold, not a multiple of 4
  auto draw = [&]() {
    Generator gen(77);
    gen.reserve(3);
    Tensor t = Tensor::randn({n}, gen, DType::f64);
    CHECK(gen.offset() == 3 + (n + 3) / 4);
    return t.to_doubles();
  };
  std::vector<double> one = test::with_threads(1, draw), two = test::with_threads(2, draw);
  CHECK(one == two);
  double s = 0, s2 = 0;
  for (double v : one) {
    s += v;
    s2 += v * v;
  }
  const double mean = s / n, sd = std::sqrt(s2 / n - mean * mean);
  // Standard errors are about 0.0032 for the mean and 0.0022 for the std; allow ~6 of them.
  CHECK(std::fabs(mean) < 0.02);
  CHECK(std::fabs(sd - 1.0) < 0.015);
  // Element i is philox_normal at (seed, first block, i), and the f32 draw is the f64 one rounded.
  Generator gen(77);
  gen.reserve(3);
  CHECK(one[12345] == kern::philox_normal(gen.key(), 3, 12345));
  std::vector<float> f = Tensor::randn({n}, gen, DType::f32).to_vector<float>();
  CHECK(f[12345] == static_cast<float>(one[12345]));
  Generator shifted(77);
  std::vector<double> scaled = Tensor::randn({8}, shifted, DType::f64, 3.0, 2.0).to_doubles();
  Generator base(77);
  std::vector<double> unit = Tensor::randn({8}, base, DType::f64).to_doubles();
  for (size_t i = 0; i < 8; ++i) CHECK(scaled[i] == doctest::Approx(3.0 + 2.0 * unit[i]).epsilon(1e-15));
}
