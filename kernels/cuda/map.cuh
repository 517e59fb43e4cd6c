// One grid-stride loop for every elementwise CUDA kernel: f(i) for i in [0, n) on the device's current stream,
// and typed views of a tensor's device buffer.
#pragma once
#include "engine/tensor.h"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {

// A contiguous tensor's elements as the device type T (the entries' contract makes inputs contiguous).
template <class T> const T* cptr(const Tensor& t) { return static_cast<const T*>(t.raw_data()); }
template <class T> T* ptr(Tensor& t) { return static_cast<T*>(t.raw_data()); }

template <class F> __global__ void __launch_bounds__(kBlock) for_each_index_kernel(int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

// f is a __device__ functor (or extended lambda) copied by value into the kernel's parameters.
template <class F> void for_each_index(Device device, int64_t n, F f, const char* what) {
  if (n <= 0) return;
  for_each_index_kernel<<<grid_for(n), kBlock, 0, stream(device.index)>>>(n, f);
  check_launch(what);
}

}  // namespace asyndgan::kern::cuda
