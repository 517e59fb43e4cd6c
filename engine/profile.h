// Opt-in wall-clock accounting per op name (e.g. the conv kernels' share of a training step), process-wide.
// Off by default; while off a Scope costs one relaxed atomic load, so instrumented ops stay free in training.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace asyndgan::profile {

namespace detail {
extern std::atomic<bool> enabled_flag;  // initialized from ASYNDGAN_PROFILE (set and not "0": on)
void add(const char* name, double seconds);
}  // namespace detail

inline bool enabled() noexcept { return detail::enabled_flag.load(std::memory_order_relaxed); }
void set_enabled(bool on);

struct Entry {
  std::string name;
  double seconds = 0;  // wall-clock seconds inside Scopes of this name (nested names each count their own)
  int64_t calls = 0;
};

// Totals since the last reset(), sorted by name; reset() clears them (the enabled state is kept).
std::vector<Entry> snapshot();
void reset();

// Times its lifetime under `name` (a string literal: kept by pointer) when profiling was on at construction.
class Scope {
 public:
  explicit Scope(const char* name) noexcept : name_(enabled() ? name : nullptr) {
    if (name_) start_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (name_) detail::add(name_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* name_;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace asyndgan::profile
