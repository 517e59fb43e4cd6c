// Philox4x32-10 (Salmon et al., SC'11) and the uniform/normal transforms built on it; host and device.
#pragma once
#include <cmath>
#include <cstdint>
#include "base/hostdevice.h"

namespace asyndgan::kern {

struct PhiloxKey { uint32_t k0, k1; };
struct Philox4 { uint32_t v[4]; };

ASYNDGAN_HD PhiloxKey philox_key(uint64_t seed) {
  return {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
}

ASYNDGAN_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Ten rounds over the 128-bit counter c with key k.
ASYNDGAN_HD Philox4 philox4x32_10(Philox4 c, PhiloxKey k) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(M0, c.v[0], hi0, lo0);
    philox_mulhilo(M1, c.v[2], hi1, lo1);
    c = Philox4{{hi1 ^ c.v[1] ^ k.k0, lo1, hi0 ^ c.v[3] ^ k.k1, lo0}};
    k.k0 += W0;
    k.k1 += W1;
  }
  return c;
}

// Block `block` of the stream (counter = block number in the low 64 bits).
ASYNDGAN_HD Philox4 philox_block(PhiloxKey key, uint64_t block) {
  return philox4x32_10(Philox4{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}}, key);
}

// Uniform in [0, 1) with 24 random bits, and in (0, 1] for logarithms.
ASYNDGAN_HD float uniform01(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
ASYNDGAN_HD double uniform01_open_low(uint32_t x) { return (static_cast<double>(x >> 8) + 1.0) * (1.0 / 16777216.0); }

// Element i of a draw that starts at block `first`: four 32-bit words per block.
ASYNDGAN_HD uint32_t philox_word(PhiloxKey key, uint64_t first, uint64_t i) {
  return philox_block(key, first + i / 4).v[i % 4];
}

// Standard normal for element i: Box-Muller over the word pair (2j, 2j+1) of its block, cos for even i,
// sin for odd i, so each block gives four normals.
ASYNDGAN_HD double philox_normal(PhiloxKey key, uint64_t first, uint64_t i) {
  Philox4 b = philox_block(key, first + i / 4);
  uint32_t pair = static_cast<uint32_t>(i % 4) / 2;
  double u1 = uniform01_open_low(b.v[2 * pair]);
  double u2 = static_cast<double>(b.v[2 * pair + 1] >> 8) * (1.0 / 16777216.0);
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 6.283185307179586 * u2;
  return (i % 2 == 0) ? r * std::cos(theta) : r * std::sin(theta);
}

}  // namespace asyndgan::kern
