// What `asyndgan --version` and `asyndgan info` report about the build. CUDA, cuDNN and NCCL versions are
// those CMake found at configure time (apps/CMakeLists.txt passes them in): the engine has no runtime query.
#include "apps/build_info.h"
#include "engine/version.h"
#include "engine/blas_info.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef ASYNDGAN_BUILD_CUDA_VERSION
#define ASYNDGAN_BUILD_CUDA_VERSION ""
#endif
#ifndef ASYNDGAN_BUILD_CUDNN_VERSION
#define ASYNDGAN_BUILD_CUDNN_VERSION ""
#endif
#ifndef ASYNDGAN_BUILD_HAS_NCCL
#define ASYNDGAN_BUILD_HAS_NCCL 0
#endif
#ifndef ASYNDGAN_BUILD_NCCL_VERSION
#define ASYNDGAN_BUILD_NCCL_VERSION ""
#endif

namespace asyndgan::app {
namespace {

std::string version_suffix(const std::string& version) { return version.empty() ? "" : " (" + version + ")"; }

}  // namespace

std::string build_report() {
  std::string r = std::string("asyndgan ") + version_string() + "\n";
  r += std::string("  CUDA:   ") + (ASYNDGAN_HAS_CUDA ? "compiled in" + version_suffix(ASYNDGAN_BUILD_CUDA_VERSION)
                                                      : std::string("not compiled in")) + "\n";
  r += std::string("  cuDNN:  ") + (ASYNDGAN_HAS_CUDNN ? "compiled in" + version_suffix(ASYNDGAN_BUILD_CUDNN_VERSION)
                                                       : std::string("not compiled in")) + "\n";
  r += std::string("  NCCL:   ") + (ASYNDGAN_BUILD_HAS_NCCL
                                       ? "found at build time" + version_suffix(ASYNDGAN_BUILD_NCCL_VERSION) + ", not used yet"
                                       : std::string("not found at build time")) + "\n";
#ifdef _OPENMP
  r += "  OpenMP: compiled in, " + std::to_string(omp_get_max_threads()) + " threads\n";
#else
  r += "  OpenMP: not compiled in\n";
#endif
  const auto& blas = blas_info();
  r += "  BLAS:   " + blas.path + " (" + blas.threading + " threads), kernels " + blas.core + ": " + blas.core_note;
  return r;
}

}  // namespace asyndgan::app
