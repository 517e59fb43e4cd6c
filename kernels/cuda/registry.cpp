// Installs every CUDA op family's kernels into the engine's table (engine/backend.h).
#include "kernels/cuda/registry.h"

namespace asyndgan::backend {

void install_cuda_kernels(CudaKernels& t) {
  kern::cuda::register_copy(t);
  kern::cuda::register_elementwise(t);
  kern::cuda::register_loss(t);
  kern::cuda::register_activation(t);
  kern::cuda::register_shape(t);
  kern::cuda::register_norm(t);
  kern::cuda::register_conv(t);
  kern::cuda::register_adam(t);
}

}  // namespace asyndgan::backend
