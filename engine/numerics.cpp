// The engine's current numerics settings, behind a mutex so a reader never sees half of an update, and the
// parsing of a run's numerics keys.
#include "engine/numerics.h"
#include <mutex>
#include "base/error.h"

namespace asyndgan {
namespace {

struct Current {
  std::mutex mutex;
  Numerics value = Numerics::from_environment();
};

// A function-local static: the environment is read on first use, not during static initialization.
Current& current() {
  static Current c;
  return c;
}

}  // namespace

Numerics numerics() {
  Current& c = current();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.value;
}

void set_numerics(const Numerics& n) {
  Current& c = current();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.value = n;
}

Numerics parse_numerics(const NumericsConfig& config, Device device) {
  Numerics n = Numerics::from_environment();
  if (config.precision == "fp32") {
    n.precision = Precision::fp32;
  } else if (config.precision == "bf16") {
    n.precision = Precision::bf16;
  } else {
    throw ValueError(msg("'train.precision' must be one of fp32, bf16, got \"", config.precision, "\""));
  }
  if (n.precision == Precision::bf16 && !device.is_cuda())
    throw ValueError(msg("'train.precision' = \"bf16\" needs a CUDA device, but the run's device is ", device.str(),
                         ": set train.device = \"cuda\" or train.precision = \"fp32\""));
  n.allow_tf32 = config.tf32;
  n.deterministic = config.deterministic;
  n.cpu_winograd = config.winograd;
  return n;
}

}  // namespace asyndgan
