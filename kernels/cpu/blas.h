// The BLAS under the CPU kernels: OpenBLAS, opened at first use so the engine can choose its variant and its
// kernel set before the library initializes (see blas.cpp for the rules).
#pragma once
#include <cstdint>
#include <string>

namespace asyndgan::kern::cpu {

struct BlasInfo {
  std::string path;       // the shared library actually loaded
  std::string core;       // OpenBLAS's kernel set, e.g. "SkylakeX"
  std::string threading;  // "openmp" (shares the engine's OpenMP pool), "pthread" or "serial"
  std::string core_note;  // how the kernel set was chosen
};

const BlasInfo& blas_info();  // loads the library on first call; throws IOError naming the fix if it cannot
int blas_threads();
void blas_set_threads(int n);
bool blas_shares_openmp_pool();  // true when BLAS threads are the engine's own OpenMP threads

// Row-major C[m,n] = alpha * op(A) op(B) + beta * C.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void dgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
           const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace asyndgan::kern::cpu
