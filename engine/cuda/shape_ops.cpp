// The reflection padding entries of the CUDA kernel table: tensors to the planes of kernels/cuda/shape.cu. cat
// needs no kernel of its own (the op copies each input into a narrowed view of its output).
#include "engine/cuda/registry.h"
#include "kernels/cuda/shape.cuh"

namespace asyndgan::backend {
namespace {

// The padding of `unpadded` (x forward, gin backward): its last two dims are the plane, the others count planes.
kern::cuda::Pad2d pad_of(const Tensor& unpadded, int64_t left, int64_t right, int64_t top, int64_t bottom) {
  int64_t planes = 1;
  for (int64_t d = 0; d + 2 < unpadded.dim(); ++d) planes *= unpadded.size(d);
  return {planes, unpadded.size(-2), unpadded.size(-1), left, right, top, bottom};
}

void reflection_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, Tensor& out) {
  kern::cuda::reflection_pad2d(x.dtype(), pad_of(x, left, right, top, bottom), x.raw_data(), out.raw_data(),
                               out.device().index);
}

void reflection_pad2d_backward(const Tensor& grad, int64_t left, int64_t right, int64_t top, int64_t bottom,
                               Tensor& gin) {
  kern::cuda::reflection_pad2d_backward(grad.dtype(), pad_of(gin, left, right, top, bottom), grad.raw_data(),
                                        gin.raw_data(), gin.device().index);
}

}  // namespace

void register_shape(CudaKernels& t) {
  t.reflection_pad2d = &reflection_pad2d;
  t.reflection_pad2d_backward = &reflection_pad2d_backward;
}

}  // namespace asyndgan::backend
