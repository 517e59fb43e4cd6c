// The numerics switches of base/math_mode.h: atomics seeded once from the environment.
#include "base/math_mode.h"
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace asyndgan::math {
namespace {

// Set to anything but "0": on; "0": off; unset or empty: the default.
bool env_flag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strcmp(v, "0") != 0 : fallback;
}

size_t env_workspace() {
  const char* v = std::getenv("ASYNDGAN_CUDNN_WORKSPACE_MB");
  char* end = nullptr;
  const unsigned long long mb = v ? std::strtoull(v, &end, 10) : 0;
  return v && end != v && *end == '\0' ? static_cast<size_t>(mb) << 20 : size_t{256} << 20;
}

// Function-local statics: the environment is read on first use, not during static initialization.
std::atomic<bool>& tf32() { static std::atomic<bool> v{env_flag("ASYNDGAN_ALLOW_TF32", false)}; return v; }
std::atomic<bool>& deterministic() {
  static std::atomic<bool> v{env_flag("ASYNDGAN_CUDNN_DETERMINISTIC", false)};
  return v;
}
std::atomic<bool>& winograd() { static std::atomic<bool> v{env_flag("ASYNDGAN_CPU_WINOGRAD", true)}; return v; }
std::atomic<size_t>& workspace() { static std::atomic<size_t> v{env_workspace()}; return v; }

}  // namespace

bool allow_tf32() { return tf32().load(std::memory_order_relaxed); }
void set_allow_tf32(bool on) { tf32().store(on, std::memory_order_relaxed); }
bool conv_deterministic() { return deterministic().load(std::memory_order_relaxed); }
void set_conv_deterministic(bool on) { deterministic().store(on, std::memory_order_relaxed); }
size_t conv_workspace_limit() { return workspace().load(std::memory_order_relaxed); }
void set_conv_workspace_limit(size_t bytes) { workspace().store(bytes, std::memory_order_relaxed); }

bool cpu_winograd() { return winograd().load(std::memory_order_relaxed); }
void set_cpu_winograd(bool on) { winograd().store(on, std::memory_order_relaxed); }

}  // namespace asyndgan::math
