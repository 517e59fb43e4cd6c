// A site's secret: the 64 bits from which it draws its samples' opaque keys. A deployed site draws it from the
// operating system's random source once and keeps it in its own checkpoint, so only it can map a key back to a
// slice; a simulation, where one process holds every role anyway, derives it from the run's seed so that a
// run is reproducible from its config.
#pragma once
#include <cstdint>

namespace asyndgan::dist {

uint64_t new_site_secret();  // getrandom(2); Error when the OS has no entropy to give
uint64_t simulation_site_secret(uint64_t seed, int64_t site);

}  // namespace asyndgan::dist
