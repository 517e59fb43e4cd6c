// Kernels of kernels/cuda/bias.cuh.
#include "kernels/cuda/bias.cuh"
#include <algorithm>
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {
namespace {

constexpr int64_t kMaxGridY = 65535;

// Rows (i, ch) over grid y, the plane over grid x: no division per element.
template <class T>
__global__ void add_bias_kernel(T* y, const T* bias, int64_t rows, int64_t c, int64_t plane) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const acc_t<T> b = load(bias, r % c);
    T* row = y + r * plane;
    for (int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; p < plane;
         p += static_cast<int64_t>(gridDim.x) * blockDim.x)
      store(row, p, load(row, p) + b);
  }
}

// Block (s, ch) sums dy[:, ch, s*chunk .. (s+1)*chunk) into partial[ch * slices + s]: each thread strides the
// slice in a fixed order, then a fixed tree folds the block. kBlock threads, a power of two.
template <class T>
__global__ void bias_partials(const T* dy, int64_t n, int64_t c, int64_t plane, int64_t chunk, double* partial) {
  __shared__ double buf[kBlock];
  const int64_t begin = blockIdx.x * chunk, end = begin + chunk < plane ? begin + chunk : plane;
  for (int64_t ch = blockIdx.y; ch < c; ch += gridDim.y) {
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) {
      const T* row = dy + (i * c + ch) * plane;
      for (int64_t p = begin + threadIdx.x; p < end; p += blockDim.x) acc += static_cast<double>(load(row, p));
    }
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned off = blockDim.x / 2; off > 0; off >>= 1) {
      if (threadIdx.x < off) buf[threadIdx.x] += buf[threadIdx.x + off];
      __syncthreads();
    }
    if (threadIdx.x == 0) partial[ch * gridDim.x + blockIdx.x] = buf[0];
    __syncthreads();  // buf is rewritten for the next channel
  }
}

template <class T>
__global__ void bias_finish(const double* partial, int64_t c, int64_t slices, T* db) {
  for (int64_t ch = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; ch < c;
       ch += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double s = 0;
    for (int64_t j = 0; j < slices; ++j) s += partial[ch * slices + j];
    store(db, ch, static_cast<acc_t<T>>(s));
  }
}

}  // namespace

void add_channel_bias(DType dt, int64_t n, int64_t c, int64_t plane, void* y, const void* bias, int device) {
  const int64_t rows = n * c;
  if (rows == 0 || plane == 0) return;
  check(cudaSetDevice(device), "cudaSetDevice");
  dispatch_cuda_floating("add_channel_bias", dt, [&](auto tag) {
    using T = decltype(tag);
    const dim3 grid(grid_for(plane), static_cast<unsigned>(std::min(rows, kMaxGridY)));
    add_bias_kernel<T><<<grid, kBlock, 0, stream(device)>>>(static_cast<T*>(y), static_cast<const T*>(bias), rows, c,
                                                            plane);
    check_launch("add_bias_kernel");
  });
}

void bias_grad(DType dt, int64_t n, int64_t c, int64_t plane, const void* dy, void* db, int device) {
  if (c == 0) return;
  check(cudaSetDevice(device), "cudaSetDevice");
  // Enough blocks to fill the card when there are few channels (an image-producing conv has 1 to 3), but no
  // slice shorter than a block. Depends on the shape only, so the summation order does too.
  const int64_t slices = std::max<int64_t>(1, std::min((1024 + c - 1) / c, (plane + kBlock - 1) / kBlock));
  const int64_t chunk = (plane + slices - 1) / slices;
  auto* partial = static_cast<double*>(cuda_rt::device_malloc(c * slices * sizeof(double), device));
  try {
    dispatch_cuda_floating("bias_grad", dt, [&](auto tag) {
      using T = decltype(tag);
      const dim3 grid(static_cast<unsigned>(slices), static_cast<unsigned>(std::min(c, kMaxGridY)));
      bias_partials<T><<<grid, kBlock, 0, stream(device)>>>(static_cast<const T*>(dy), n, c, plane, chunk, partial);
      check_launch("bias_partials");
      bias_finish<T><<<grid_for(c), kBlock, 0, stream(device)>>>(partial, c, slices, static_cast<T*>(db));
      check_launch("bias_finish");
    });
  } catch (...) {
    cuda_rt::device_free(partial, device);
    throw;
  }
  cuda_rt::device_free(partial, device);  // stream-ordered: reused only after the kernels above
}

}  // namespace asyndgan::kern::cuda
