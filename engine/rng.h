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

// Philox for code above the engine (the data pipeline, the distributed roles): the kernels' generator under
// engine names, so those layers include no kernel header.
using Philox4 = kern::Philox4;
using PhiloxKey = kern::PhiloxKey;
using kern::philox_block;  // block n of a key's stream
using kern::philox_key;    // the key of a 64-bit seed
using kern::philox_word;   // word i of a draw starting at a block
using kern::uniform01;     // a word as a uniform in [0, 1), 24 bits

// The block at counter (a, b) (words: a's low and high halves, then b's) of the stream keyed by seed ^ tag: a pure
// function, so each tag names a stream independent of the others under one seed, and (a, b) index it by two
// numbers (a draw and a sample, a block and a site's epoch).
inline Philox4 keyed_block(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b) {
  return kern::philox4x32_10(Philox4{{static_cast<uint32_t>(a), static_cast<uint32_t>(a >> 32),
                                      static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32)}},
                             philox_key(seed ^ tag));
}

}  // namespace asyndgan
