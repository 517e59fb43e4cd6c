// Counter-based Philox4x32-10 random numbers: value i of a draw depends only on (seed, offset, i), so any
// thread count and the CUDA backend reproduce the same stream.
#pragma once
#include <array>
#include <cstdint>
#include "kernels/common/philox.h"

namespace asyndgan {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }  // in 128-bit Philox blocks consumed so far
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserves `blocks` Philox blocks and returns the first block's counter; the caller generates from it.
  uint64_t reserve(uint64_t blocks) { uint64_t first = offset_; offset_ += blocks; return first; }
  kern::PhiloxKey key() const { return kern::philox_key(seed_); }

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
};

Generator& default_generator();  // process-wide; seed it with manual_seed
void manual_seed(uint64_t seed);

}  // namespace asyndgan
