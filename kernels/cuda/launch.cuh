// What every CUDA kernel file shares: error checks that name the call, the launch geometry of elementwise
// loops, the stream of a device, and the element types a DType stands for on the device.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstdint>
#include "base/cuda_runtime.h"
#include "base/dtype.h"
#include "base/error.h"

namespace asyndgan::kern::cuda {

// Throws a DeviceError naming the failed call and CUDA's reason.
inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so the next call starts clean
    throw DeviceError(std::string("CUDA ") + what + " failed: " + cudaGetErrorString(err));
  }
}
// After a kernel launch: a bad configuration shows here, not at the next unrelated call.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline cudaStream_t stream(int device) { return static_cast<cudaStream_t>(cuda_rt::current_stream(device)); }

constexpr int kBlock = 256;
// Blocks for a grid-stride loop over n elements: enough to fill the device, never more than needed.
inline unsigned grid_for(int64_t n, int block = kBlock) {
  int64_t blocks = (n + block - 1) / block;
  const int64_t cap = 65535LL * 8;
  if (blocks > cap) blocks = cap;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

// Calls f(T{}) with T = float, double or __nv_bfloat16 for a floating dtype the CUDA kernels support.
template <class F>
decltype(auto) dispatch_cuda_floating(const char* op, DType dt, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::bf16: return f(__nv_bfloat16{});
    default:
      throw DTypeError(std::string(op) + ": CUDA kernels exist for f32, f64 and bf16, got " + dtype_name(dt));
  }
}

// Arithmetic type of an element type: bf16 math runs in f32.
template <class T> struct Acc { using type = T; };
template <> struct Acc<__nv_bfloat16> { using type = float; };
template <class T> using acc_t = typename Acc<T>::type;

template <class T> __device__ __forceinline__ acc_t<T> load(const T* p, int64_t i) { return static_cast<acc_t<T>>(p[i]); }
template <> __device__ __forceinline__ float load<__nv_bfloat16>(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}
template <class T> __device__ __forceinline__ void store(T* p, int64_t i, acc_t<T> v) { p[i] = static_cast<T>(v); }
template <> __device__ __forceinline__ void store<__nv_bfloat16>(__nv_bfloat16* p, int64_t i, float v) {
  p[i] = __float2bfloat16_rn(v);
}

}  // namespace asyndgan::kern::cuda
