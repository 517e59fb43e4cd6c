// The numerics settings' names and their environment variables (base/numerics.h).
#include "base/numerics.h"
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include "base/error.h"

namespace asyndgan {
namespace {

bool env_flag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strcmp(v, "0") != 0 : fallback;
}

size_t env_megabytes(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long long mb = std::strtoull(v, &end, 10);
  if (*v == '-' || end == v || *end != '\0' || errno == ERANGE || mb > (SIZE_MAX >> 20))
    throw ValueError(msg(name, "=\"", v, "\" is not a whole number of MiB: set it to one (e.g. ", name,
                         "=256) or unset it for the default of ", fallback >> 20));
  return static_cast<size_t>(mb) << 20;
}

}  // namespace

const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

Numerics Numerics::from_environment() {
  Numerics n;
  n.allow_tf32 = env_flag("ASYNDGAN_ALLOW_TF32", n.allow_tf32);
  n.deterministic = env_flag("ASYNDGAN_CUDNN_DETERMINISTIC", n.deterministic);
  n.cpu_winograd = env_flag("ASYNDGAN_CPU_WINOGRAD", n.cpu_winograd);
  n.conv_workspace_limit = env_megabytes("ASYNDGAN_CUDNN_WORKSPACE_MB", n.conv_workspace_limit);
  return n;
}

}  // namespace asyndgan
