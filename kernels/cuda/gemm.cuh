// A row-major GEMM on device buffers through cuBLAS, with kern::cpu::gemm's argument order: the benchmark
// measures the card's matrix rate with it. Host-only declaration; kernels/cuda/gemm.cu.
#pragma once
#include <cstdint>
#include "base/dtype.h"

namespace asyndgan::kern::cuda {

// Row-major C[m, n] = alpha * op(A) op(B) + beta * C on the device's current stream; op transposes when asked.
// f32 (TF32 tensor cores only when allow_tf32), bf16 with f32 accumulation and f32 alpha/beta, f64. Extents and
// leading dimensions must fit in int.
void gemm(DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const void* a,
          int64_t lda, const void* b, int64_t ldb, double beta, void* c, int64_t ldc, bool allow_tf32, int device);

}  // namespace asyndgan::kern::cuda
