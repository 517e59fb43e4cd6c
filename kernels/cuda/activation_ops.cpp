// Registers the CUDA activations and dropout (kernels/cuda/activation.cu) in the engine's table.
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/registry.h"

namespace asyndgan::kern::cuda {

void register_activation(backend::CudaKernels& t) {
  t.unary = &unary;
  t.unary_backward = &unary_backward;
  t.dropout = &dropout;
  t.dropout_captured = &dropout_captured;
  t.set_philox_state = &set_philox_state;
}

}  // namespace asyndgan::kern::cuda
