// Exponential reconnect delays (doubling from `initial` up to `cap`) within a total budget (dist.reconnect_s).
#pragma once
#include <chrono>
#include <optional>

namespace asyndgan::net {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, std::chrono::milliseconds budget)
      : next_(initial), cap_(cap), left_(budget) {}
  // The next wait, or nullopt once the budget is spent (the last wait is cut to what remains).
  std::optional<std::chrono::milliseconds> next() {
    if (left_.count() <= 0) return std::nullopt;
    const auto wait = std::min(next_, left_);
    left_ -= wait;
    next_ = std::min(next_ * 2, cap_);
    return wait;
  }

 private:
  std::chrono::milliseconds next_, cap_, left_;
};

}  // namespace asyndgan::net
