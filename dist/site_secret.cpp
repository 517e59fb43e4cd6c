// Site secrets: from the OS for a deployed site, from the seed in a simulation.
#include "dist/site_secret.h"
#include <sys/random.h>
#include <cerrno>
#include <cstring>
#include "base/error.h"
#include "engine/rng.h"

namespace asyndgan::dist {

uint64_t new_site_secret() {
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, 0) != static_cast<ssize_t>(sizeof s))
    throw Error(msg("site secret: getrandom failed (", std::strerror(errno), ")"));
  return s;
}

uint64_t simulation_site_secret(uint64_t seed, int64_t site) {
  constexpr uint64_t kTag = 0x7369746573656372ull;
  const Philox4 r = keyed_block(seed, kTag, static_cast<uint64_t>(site), 0);
  return (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
}

}  // namespace asyndgan::dist
