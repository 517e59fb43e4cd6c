// Grid-stride strided copy/convert and fill kernels over CopyGeometry (same-dtype copies move bits by element size),
// fills from a device scalar, and the one-element counter increment.
#include "kernels/cuda/copy.cuh"
#include <cstring>
#include <type_traits>
#include "base/error.h"
#include "kernels/common/convert.h"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {
namespace {

template <class S, class D, class I>
__global__ void copy_kernel(const S* __restrict__ src, D* __restrict__ dst, CopyGeometry g) {
  const I n = static_cast<I>(g.numel), step = static_cast<I>(blockDim.x) * static_cast<I>(gridDim.x);
  for (I i = static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x); i < n; i += step) {
    I so, d;
    copy_offsets(g, i, so, d);
    convert_element(src + so, dst + d);
  }
}

template <class T, class I>
__global__ void fill_kernel(T* __restrict__ dst, T value, CopyGeometry g) {
  const I n = static_cast<I>(g.numel), step = static_cast<I>(blockDim.x) * static_cast<I>(gridDim.x);
  for (I i = static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x); i < n; i += step) {
    I unused, d;
    copy_offsets(g, i, unused, d);
    dst[d] = value;
  }
}

template <class S, class D>
__global__ void fill_from_scalar_kernel(const S* __restrict__ scalar, double factor, D* __restrict__ dst, int64_t n) {
  D value;
  store_from_double(&value, load_as_double(scalar) * factor);
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) dst[i] = value;
}

__global__ void increment_kernel(int64_t* counter) { *counter += 1; }

// An unsigned integer as wide as one element: same-dtype copies and fills only move bits.
template <class F> void with_bits(DType dt, F&& f) {
  switch (dtype_size(dt)) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}

bool one_run(const CopyGeometry& g) {
  return g.ndim == 0 || (g.ndim == 1 && g.src_stride[0] == 1 && g.dst_stride[0] == 1);
}

template <class S, class D>
void launch_copy(const void* src, void* dst, const CopyGeometry& g, cudaStream_t stream) {
  const auto* s = static_cast<const S*>(src);
  auto* d = static_cast<D*>(dst);
  if (g.fits_int32)
    copy_kernel<S, D, int32_t><<<grid_for(g.numel), kBlock, 0, stream>>>(s, d, g);
  else
    copy_kernel<S, D, int64_t><<<grid_for(g.numel), kBlock, 0, stream>>>(s, d, g);
  check_launch("copy_kernel");
}

}  // namespace

void copy_strided(const void* src, DType src_dtype, void* dst, DType dst_dtype, const CopyGeometry& g, int device) {
  if (g.numel == 0) return;
  const cudaStream_t s = stream(device);
  if (src_dtype == dst_dtype) {
    if (one_run(g)) {
      const size_t nbytes = static_cast<size_t>(g.numel) * dtype_size(src_dtype);
      check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync (device to device)");
      return;
    }
    with_bits(src_dtype, [&](auto tag) {
      using T = decltype(tag);
      launch_copy<T, T>(src, dst, g, s);
    });
    return;
  }
  // Conversions are usually between contiguous tensors (one dimension, no division), so only the 64-bit index
  // variant is compiled for them: 42 type pairs, not 84.
  CopyGeometry wide = g;
  wide.fits_int32 = false;
  with_storage_type(src_dtype, [&](auto s_tag) {
    with_storage_type(dst_dtype, [&](auto d_tag) {
      using S = decltype(s_tag);
      using D = decltype(d_tag);
      if constexpr (!std::is_same_v<S, D>) launch_copy<S, D>(src, dst, wide, s);
    });
  });
}

void fill_strided(void* dst, DType dtype, double value, const CopyGeometry& g, int device) {
  if (g.numel == 0) return;
  const cudaStream_t s = stream(device);
  uint64_t bits = 0;  // the element's bytes, as kern::cpu::fill would store them
  with_storage_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    T v;
    store_from_double(&v, value);
    std::memcpy(&bits, &v, sizeof v);
  });
  const size_t esize = dtype_size(dtype);
  const bool contiguous = g.ndim == 0 || (g.ndim == 1 && g.dst_stride[0] == 1);
  if (contiguous && (bits == 0 || esize == 1)) {
    check(cudaMemsetAsync(dst, static_cast<int>(bits & 0xff), static_cast<size_t>(g.numel) * esize, s),
          "cudaMemsetAsync");
    return;
  }
  with_bits(dtype, [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, &bits, sizeof v);  // little-endian: the low bytes hold the element
    if (g.fits_int32)
      fill_kernel<T, int32_t><<<grid_for(g.numel), kBlock, 0, s>>>(static_cast<T*>(dst), v, g);
    else
      fill_kernel<T, int64_t><<<grid_for(g.numel), kBlock, 0, s>>>(static_cast<T*>(dst), v, g);
    check_launch("fill_kernel");
  });
}

void fill_from_scalar(const void* scalar, DType scalar_dtype, double factor, void* dst, DType dtype, int64_t n,
                      int device) {
  if (n <= 0) return;
  const cudaStream_t s = stream(device);
  with_storage_type(scalar_dtype, [&](auto s_tag) {
    with_storage_type(dtype, [&](auto d_tag) {
      using S = decltype(s_tag);
      using D = decltype(d_tag);
      fill_from_scalar_kernel<S, D><<<grid_for(n), kBlock, 0, s>>>(static_cast<const S*>(scalar), factor,
                                                                  static_cast<D*>(dst), n);
    });
  });
  check_launch("fill_from_scalar_kernel");
}

void increment_i64(int64_t* counter, int device) {
  increment_kernel<<<1, 1, 0, stream(device)>>>(counter);
  check_launch("increment_kernel");
}

}  // namespace asyndgan::kern::cuda
