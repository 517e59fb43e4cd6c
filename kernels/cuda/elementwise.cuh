// The CUDA elementwise kernels and the deterministic sum (engine/backend.h's elementwise and sum entries), over
// raw device buffers. Plain C++ declarations: engine/cuda/elementwise_ops.cpp adapts tensors to them.
#pragma once
#include <cstdint>
#include "base/dtype.h"

namespace asyndgan::kern::cuda {

// Every buffer holds n contiguous elements of dt (f32, f64 or bf16); each launches on `device`'s current stream
// and assigns its output unless noted.
void axpby(DType dt, int64_t n, double alpha, const void* a, double beta, const void* b, void* out, int device);
void affine(DType dt, int64_t n, const void* a, double scale, double shift, void* out, int device);
void mul(DType dt, int64_t n, const void* a, const void* b, void* out, int device);
void axpy_(DType dt, int64_t n, void* a, double alpha, const void* b, int device);  // a += alpha * b
// out (0-D, out_dt f32 or f64, on the device) = scale * sum(x), by the deterministic reduction (reduce.cuh).
void sum(DType dt, int64_t n, const void* x, double scale, DType out_dt, void* out, int device);

}  // namespace asyndgan::kern::cuda
