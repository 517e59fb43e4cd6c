// The delays between a site's reconnect attempts: exponential from `initial` (factor 2) up to `max`, with an
// optional jitter drawn from a seed (reproducible), until a total budget (dist.reconnect_s) is spent.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>

namespace asyndgan::net {

struct BackoffOptions {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds max{10'000};
  std::chrono::milliseconds budget{60'000};  // the sum of all the delays handed out
  // Each delay d becomes one drawn uniformly from [max(d/2, 1 ms), d] by a generator seeded here, so sites that
  // lost the central node at once do not all reconnect in lockstep; nullopt: exactly d.
  std::optional<uint64_t> jitter_seed;
};

class Backoff {
 public:
  explicit Backoff(const BackoffOptions& options);  // ValueError for a non-positive initial, max < initial, budget < 0

  // The next delay to sleep before an attempt, or nullopt once the budget is spent. The last delay is cut to what
  // remains of the budget, so the delays add up to the budget exactly. Attempts' own time is not counted: bound
  // each with its own Deadline.
  std::optional<std::chrono::milliseconds> next();
  // After a successful connection: the next loss starts from `initial` with the whole budget again.
  void reset();

  std::chrono::milliseconds spent() const { return spent_; }
  int attempts() const { return attempts_; }

 private:
  BackoffOptions options_;
  std::chrono::milliseconds current_, spent_{0};
  int attempts_ = 0;
  uint64_t rng_ = 0;
};

}  // namespace asyndgan::net
