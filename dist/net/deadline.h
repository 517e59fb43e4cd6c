// A point on the steady clock by which a network operation must finish, turned into poll()'s timeouts.
#pragma once
#include <algorithm>
#include <chrono>
#include <climits>

namespace asyndgan::net {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // A negative wait is an expired deadline; one too far off for the clock (a century) is never().
  static Deadline after(std::chrono::milliseconds ms) {
    if (ms > std::chrono::hours(24 * 365 * 100)) return never();
    return Deadline(Clock::now() + std::max(ms, std::chrono::milliseconds(0)));
  }
  static Deadline never() { return Deadline(Clock::time_point::max()); }
  static Deadline at(Clock::time_point t) { return Deadline(t); }

  bool is_never() const { return at_ == Clock::time_point::max(); }
  bool expired() const { return !is_never() && Clock::now() >= at_; }
  Clock::time_point time() const { return at_; }

  // poll()'s timeout: -1 (wait forever) for never(), 0 once expired, else the milliseconds left rounded up (so a
  // poll that times out lands at or past the deadline, never just before it) and clamped to INT_MAX: a caller
  // loops until expired() anyway.
  int remaining_ms() const {
    if (is_never()) return -1;
    const auto left = at_ - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<long long>(ms, INT_MAX));
  }

 private:
  explicit Deadline(Clock::time_point at) : at_(at) {}
  Clock::time_point at_;
};

}  // namespace asyndgan::net
