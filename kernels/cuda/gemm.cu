// kernels/cuda/gemm.cuh through cublasGemmEx, which runs cuBLASLt's kernels underneath. cuBLAS is column-major:
// a row-major C is the column-major C^T = op(B)^T op(A)^T, so B goes first and m and n swap.
#include "kernels/cuda/gemm.cuh"
#include <climits>
#include "kernels/cuda/handles.cuh"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {
namespace {

int to_int(int64_t v) {
  if (v < 0 || v > INT_MAX) throw ValueError(msg("gemm: extent ", v, " does not fit cuBLAS's 32-bit sizes"));
  return static_cast<int>(v);
}

}  // namespace

void gemm(DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const void* a,
          int64_t lda, const void* b, int64_t ldb, double beta, void* c, int64_t ldc, bool allow_tf32, int device) {
  if (m == 0 || n == 0) return;
  cudaDataType_t type;
  cublasComputeType_t compute;
  switch (dt) {
    case DType::f32:
      type = CUDA_R_32F;
      compute = allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      break;
    case DType::bf16:
      type = CUDA_R_16BF;
      compute = CUBLAS_COMPUTE_32F;
      break;
    case DType::f64:
      type = CUDA_R_64F;
      compute = CUBLAS_COMPUTE_64F;
      break;
    default:
      throw DTypeError(msg("gemm: CUDA kernels exist for f32, f64 and bf16, got ", dtype_name(dt)));
  }
  cublasHandle_t h = cublas_handle(device);
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  // alpha and beta have the compute type's precision: double for f64, float otherwise.
  const float alpha_f = static_cast<float>(alpha), beta_f = static_cast<float>(beta);
  const void* pa = dt == DType::f64 ? static_cast<const void*>(&alpha) : &alpha_f;
  const void* pb = dt == DType::f64 ? static_cast<const void*>(&beta) : &beta_f;
  CUBLAS_CHECK(cublasGemmEx(h, op_b, op_a, to_int(n), to_int(m), to_int(k), pa, b, type, to_int(ldb), a, type,
                            to_int(lda), pb, c, type, to_int(ldc), compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace asyndgan::kern::cuda
