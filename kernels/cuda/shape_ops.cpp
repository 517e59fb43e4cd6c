// Registers the CUDA reflection padding (kernels/cuda/shape.cu) in the engine's table; cat needs no kernel of
// its own (the op copies each input into a narrowed view of its output).
#include "kernels/cuda/registry.h"
#include "kernels/cuda/shape.cuh"

namespace asyndgan::kern::cuda {

void register_shape(backend::CudaKernels& t) {
  t.reflection_pad2d = &reflection_pad2d;
  t.reflection_pad2d_backward = &reflection_pad2d_backward;
}

}  // namespace asyndgan::kern::cuda
