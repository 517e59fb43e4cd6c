// `asyndgan info`: version, compiled features and what this machine offers.
#include <cstdio>
#include "apps/commands.h"
#include "engine/device.h"
#include "engine/version.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace asyndgan::app {

int run_info(int, char**) {
  std::printf("asyndgan %s\n", version_string());
  std::printf("  CUDA compiled in: %s\n", ASYNDGAN_HAS_CUDA ? "yes" : "no");
  std::printf("  CUDA devices:     %d\n", cuda_device_count());
#ifdef _OPENMP
  std::printf("  OpenMP threads:   %d\n", omp_get_max_threads());
#else
  std::printf("  OpenMP:           not compiled in\n");
#endif
  std::printf("  BLAS:             OpenBLAS\n");
  return 0;
}

}  // namespace asyndgan::app
