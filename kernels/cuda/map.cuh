// One grid-stride loop for every elementwise CUDA kernel: f(i) for i in [0, n) on the device's current stream,
// and typed views of a device buffer.
#pragma once
#include "kernels/common/descriptors.h"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {

// A buffer's elements as the device type T.
template <class T> const T* cptr(const void* p) { return static_cast<const T*>(p); }
template <class T> T* ptr(void* p) { return static_cast<T*>(p); }

template <class F> __global__ void __launch_bounds__(kBlock) for_each_index_kernel(int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

// f is a __device__ functor (or extended lambda) copied by value into the kernel's parameters.
template <class F> void for_each_index(int device, int64_t n, F f, const char* what) {
  if (n <= 0) return;
  for_each_index_kernel<<<grid_for(n), kBlock, 0, stream(device)>>>(n, f);
  check_launch(what);
}

}  // namespace asyndgan::kern::cuda
