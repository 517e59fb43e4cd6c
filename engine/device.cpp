// Device parsing, printing and resolving a user's setting (with the CPU fallback); the CUDA device count comes
// from the CUDA runtime when it is compiled in.
#include "engine/device.h"
#include <cstdio>
#include <mutex>
#include "base/cuda_runtime.h"
#include "base/error.h"

namespace asyndgan {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int idx = std::stoi(text.substr(5), &used);
      if (used == text.size() - 5 && idx >= 0) return cuda(idx);
    } catch (const std::exception&) {
    }
  }
  throw DeviceError(msg("bad device '", text, "': expected 'cpu', 'cuda' or 'cuda:N'"));
}

Device resolve_device(const std::string& spec) {
  const int n = cuda_device_count();
  if (spec == "cuda" || spec == "auto") {
    if (n > 0) return Device::cuda(0);
    static std::once_flag noted;
    std::call_once(noted, [] {
      std::fprintf(stderr, "asyndgan: no CUDA device (%s); running on the CPU\n", cuda_rt::no_device_reason());
    });
    return Device::cpu();
  }
  Device d;
  try {
    d = Device::parse(spec);
  } catch (const DeviceError&) {
    throw DeviceError(msg("bad device '", spec, "': expected 'auto', 'cpu', 'cuda' or 'cuda:N'"));
  }
  if (d.is_cuda() && d.index >= n)
    throw DeviceError(msg("device '", spec, "': cuda:", d.index, " does not exist, this machine has ", n,
                          " CUDA device(s)", n ? "" : msg(" (", cuda_rt::no_device_reason(), ")"),
                          "; use 'auto', 'cpu' or an existing cuda:N"));
  return d;
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

}  // namespace asyndgan
