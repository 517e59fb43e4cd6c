// The engine's current numerics settings (base/numerics.h), which the ops read and hand to the kernels as
// arguments, and the one place a run's numerics keys are parsed and checked.
#pragma once
#include <string>
#include "base/numerics.h"
#include "engine/device.h"

namespace asyndgan {

// The current settings: Numerics::from_environment() until set_numerics is called. Set them before running ops
// on other threads; an op reads them once when it starts.
Numerics numerics();
void set_numerics(const Numerics& n);

// Sets `n` for its lifetime and puts the previous settings back after (tests, benchmarks).
class NumericsScope {
 public:
  explicit NumericsScope(const Numerics& n) : saved_(numerics()) { set_numerics(n); }
  ~NumericsScope() { set_numerics(saved_); }
  NumericsScope(const NumericsScope&) = delete;
  NumericsScope& operator=(const NumericsScope&) = delete;

 private:
  Numerics saved_;
};

// A run config's numerics keys as written: train.precision, train.tf32, train.deterministic, train.winograd.
struct NumericsConfig {
  std::string precision = "fp32";
  bool tf32 = false;
  bool deterministic = false;
  bool winograd = true;
};

// The settings of a run on `device`, checked once: a ValueError "'train.precision' ..." for a name other than
// fp32 / bf16 and for bf16 on a device other than CUDA, each saying what to set instead. The workspace limit,
// which has no config key, comes from the environment.
Numerics parse_numerics(const NumericsConfig& config, Device device);

}  // namespace asyndgan
