// Registers the CUDA losses (kernels/cuda/loss.cu) in the engine's table.
#include "kernels/cuda/loss.cuh"
#include "kernels/cuda/registry.h"

namespace asyndgan::kern::cuda {

void register_loss(backend::CudaKernels& t) {
  t.l1_forward = &l1_forward;
  t.l1_backward = &l1_backward;
  t.mse_forward = &mse_forward;
  t.mse_backward = &mse_backward;
  t.bce_forward = &bce_forward;
  t.bce_backward = &bce_backward;
}

}  // namespace asyndgan::kern::cuda
