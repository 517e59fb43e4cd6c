// The process-wide default generator.
#include "engine/rng.h"

namespace asyndgan {

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

}  // namespace asyndgan
