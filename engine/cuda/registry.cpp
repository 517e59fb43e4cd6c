// Installs every CUDA op family's kernels into the engine's table (engine/backend.h).
#include "engine/cuda/registry.h"

namespace asyndgan::backend {

void install_cuda_kernels(CudaKernels& t) {
  register_copy(t);
  register_elementwise(t);
  register_loss(t);
  register_activation(t);
  register_shape(t);
  register_norm(t);
  register_conv(t);
  register_adam(t);
}

}  // namespace asyndgan::backend
