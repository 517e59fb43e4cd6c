// `asyndgan info`: version, compiled features and what this machine offers.
#include <cstdio>
#include "apps/commands.h"
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
  std::printf("  CUDA devices:     %d\n", cuda_device_count());
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
