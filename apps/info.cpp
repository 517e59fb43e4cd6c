// `asyndgan info`: the version and compiled features (apps/build_info.h), and what this machine offers.
#include <CLI/CLI.hpp>
#include <cstdio>
#include "apps/build_info.h"
#include "apps/commands.h"
#include "base/cuda_runtime.h"
#include "engine/device.h"

namespace asyndgan::app {
namespace {

int run_info() {
  std::printf("%s\n", build_report().c_str());
  const int gpus = cuda_device_count();
  if (gpus == 0 && ASYNDGAN_HAS_CUDA) std::printf("  CUDA devices: 0 (%s)\n", cuda_rt::no_device_reason());
  else std::printf("  CUDA devices: %d\n", gpus);
  for (int d = 0; d < gpus; ++d) {
    const cuda_rt::MemoryStats m = cuda_rt::memory_stats(d);
    const double mib = 1024.0 * 1024.0;
    std::printf("    cuda:%d  %s; memory allocated %.1f MiB, peak %.1f MiB, reserved %.1f MiB\n", d,
                cuda_rt::device_name(d), m.allocated / mib, m.peak_allocated / mib, m.reserved / mib);
  }
  return 0;
}

}  // namespace

Verb add_info(CLI::App& cli) {
  return {cli.add_subcommand("info", "version, compiled features, BLAS and devices"), run_info};
}

}  // namespace asyndgan::app
