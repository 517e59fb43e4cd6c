// `asyndgan info`: version, compiled features and what this machine offers.
#include <cstdio>
#include "apps/commands.h"
#include "base/cuda_runtime.h"
#include "engine/device.h"
#include "engine/version.h"
#include "kernels/cpu/blas.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace asyndgan::app {

int run_info(int, char**) {
  std::printf("asyndgan %s\n", version_string());
  std::printf("  CUDA compiled in: %s\n", ASYNDGAN_HAS_CUDA ? "yes" : "no");
  const int gpus = cuda_device_count();
  if (gpus == 0 && ASYNDGAN_HAS_CUDA) std::printf("  CUDA devices:     0 (%s)\n", cuda_rt::no_device_reason());
  else std::printf("  CUDA devices:     %d\n", gpus);
  for (int d = 0; d < gpus; ++d) {
    const cuda_rt::MemoryStats m = cuda_rt::memory_stats(d);
    const double mib = 1024.0 * 1024.0;
    std::printf("    cuda:%d  %s; memory allocated %.1f MiB, peak %.1f MiB, reserved %.1f MiB\n", d,
                cuda_rt::device_name(d), m.allocated / mib, m.peak_allocated / mib, m.reserved / mib);
  }
#ifdef _OPENMP
  std::printf("  OpenMP threads:   %d\n", omp_get_max_threads());
#else
  std::printf("  OpenMP:           not compiled in\n");
#endif
  const auto& blas = kern::cpu::blas_info();
  std::printf("  BLAS:             %s (%s threads), kernels %s: %s\n", blas.path.c_str(), blas.threading.c_str(),
              blas.core.c_str(), blas.core_note.c_str());
  return 0;
}

}  // namespace asyndgan::app
