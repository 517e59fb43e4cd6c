/* A stand-in for OpenBLAS where none is installed (the lent GPU machines): the six symbols
 * kernels/cpu/blas.cpp opens, with a plain OpenMP GEMM. Correct, not fast: enough for the CPU references of the
 * CUDA tests and benchmarks. bench/gpu_check.sh builds it and points ASYNDGAN_BLAS at it. */
#include <stddef.h>

enum { kRowMajor = 101, kTrans = 112 };

#define GEMM(name, T)                                                                                              \
  void name(int order, int ta, int tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb,    \
            T beta, T* c, int ldc) {                                                                               \
    if (order != kRowMajor) { /* column-major C = A B is row-major C^T = B^T A^T */                                \
      name(kRowMajor, tb, ta, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);                                       \
      return;                                                                                                      \
    }                                                                                                              \
    _Pragma("omp parallel for schedule(static)") for (int i = 0; i < m; ++i) {                                     \
      T* ci = c + (size_t)i * ldc;                                                                                 \
      for (int j = 0; j < n; ++j) ci[j] = beta == 0 ? 0 : beta * ci[j];                                            \
      for (int p = 0; p < k; ++p) {                                                                                \
        const T aip = alpha * (ta == kTrans ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]);                    \
        if (tb == kTrans)                                                                                          \
          for (int j = 0; j < n; ++j) ci[j] += aip * b[(size_t)j * ldb + p];                                       \
        else                                                                                                       \
          for (int j = 0; j < n; ++j) ci[j] += aip * b[(size_t)p * ldb + j];                                       \
      }                                                                                                            \
    }                                                                                                              \
  }

GEMM(cblas_sgemm, float)
GEMM(cblas_dgemm, double)

void openblas_set_num_threads(int n) { (void)n; }
int openblas_get_num_threads(void) { return 1; }
char* openblas_get_corename(void) { return (char*)"asyndgan fallback (bench/fallback_blas.c)"; }
int openblas_get_parallel(void) { return 2; } /* its loops are OpenMP: it shares the engine's pool */
