// Exponential reconnect delays with a budget (dist/net/backoff.h).
#include "dist/net/backoff.h"
#include <algorithm>
#include "base/error.h"

namespace asyndgan::net {
namespace {

// splitmix64: a tiny, well-mixed generator, the same numbers everywhere for one seed.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Backoff::Backoff(const BackoffOptions& options) : options_(options), current_(options.initial) {
  using std::chrono::milliseconds;
  if (options.initial <= milliseconds(0))
    throw ValueError(
        msg("reconnect backoff: the initial delay must be positive, got ", options.initial.count(), " ms"));
  if (options.max < options.initial)
    throw ValueError(msg("reconnect backoff: the largest delay (", options.max.count(),
                         " ms) is below the initial one (", options.initial.count(), " ms)"));
  if (options.budget < milliseconds(0))
    throw ValueError(
        msg("reconnect backoff: the budget (dist.reconnect_s) must be >= 0, got ", options.budget.count(), " ms"));
  reset();
}

void Backoff::reset() {
  current_ = options_.initial;
  spent_ = std::chrono::milliseconds(0);
  attempts_ = 0;
  rng_ = options_.jitter_seed.value_or(0);
}

std::optional<std::chrono::milliseconds> Backoff::next() {
  const auto left = options_.budget - spent_;
  if (left <= std::chrono::milliseconds(0)) return std::nullopt;
  auto delay = current_;
  if (options_.jitter_seed) {
    const int64_t half = std::max<int64_t>(delay.count() / 2, 1);  // never 0: a delay always waits
    delay = std::chrono::milliseconds(
        half + static_cast<int64_t>(next_random(rng_) % static_cast<uint64_t>(delay.count() - half + 1)));
  }
  delay = std::min(delay, left);
  current_ = current_ > options_.max / 2 ? options_.max : current_ * 2;
  spent_ += delay;
  ++attempts_;
  return delay;
}

}  // namespace asyndgan::net
