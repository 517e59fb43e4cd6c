// One grid-stride loop for every elementwise CUDA kernel: f(i) for i in [0, n) on the device's current stream,
// and typed views of a tensor's device buffer.
#pragma once
#include "engine/rows.h"
#include "engine/tensor.h"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {

// A contiguous tensor's elements as the device type T (the entries' contract makes inputs contiguous).
template <class T> const T* cptr(const Tensor& t) { return static_cast<const T*>(t.raw_data()); }
template <class T> T* ptr(Tensor& t) { return static_cast<T*>(t.raw_data()); }

// Where element i of a tensor with rows (engine/rows.h) lies: rows of `inner` contiguous elements `stride` apart,
// as a channel range of the U-Net's concatenated buffer. Dense tensors (stride == inner) skip the division.
struct RowIndex {
  int64_t inner, stride;
  __host__ __device__ int64_t operator()(int64_t i) const {
    return stride == inner ? i : i / inner * stride + i % inner;
  }
};
// The entries' "rows" arguments have rows (the engine checks); anything else is a ValueError naming `what`.
inline RowIndex row_index(const Tensor& t, const char* what) {
  const std::optional<Rows> r = rows_of(t);
  if (!r) throw ValueError(msg(what, ": expected a tensor contiguous past dim 0, got ", t.describe()));
  return r->dense() ? RowIndex{1, 1} : RowIndex{r->inner, r->stride};
}

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
