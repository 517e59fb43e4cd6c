// Registers the CUDA elementwise kernels and the sum (kernels/cuda/elementwise.cu) in the engine's table.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/registry.h"

namespace asyndgan::kern::cuda {

void register_elementwise(backend::CudaKernels& t) {
  t.axpby = &axpby;
  t.affine = &affine;
  t.mul = &mul;
  t.axpy_ = &axpy_;
  t.sum = &sum;
}

}  // namespace asyndgan::kern::cuda
