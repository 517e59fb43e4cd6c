// A point in time (steady clock) by which a network operation must finish.
#pragma once
#include <algorithm>
#include <chrono>

namespace asyndgan::net {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  static Deadline after(std::chrono::milliseconds d) { return Deadline(Clock::now() + d); }
  static Deadline never() { return Deadline(Clock::time_point::max()); }
  bool expired() const { return Clock::now() >= at_; }
  // For poll(): milliseconds left, clamped to [0, 1 h] (a longer wait is just polled again).
  int remaining_ms() const {
    if (at_ == Clock::time_point::max()) return 3600 * 1000;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 3600 * 1000));
  }

 private:
  explicit Deadline(Clock::time_point at) : at_(at) {}
  Clock::time_point at_;
};

}  // namespace asyndgan::net
