// The index geometry of a strided CUDA copy or fill: dimensions merged wherever both views allow it, and the
// element offsets of linear index i. Plain C++ (no CUDA headers) so the CPU tests check the very mapping the
// kernels use (tests/engine/test_copy_geometry.cpp).
#pragma once
#include <cstdint>
#include <limits>
#include "base/hostdevice.h"

#if defined(__CUDA_ARCH__)  // the device pass only: the host compiler does not know the pragma
#define ASYNDGAN_UNROLL _Pragma("unroll")
#else
#define ASYNDGAN_UNROLL
#endif

namespace asyndgan::kern::cuda {

constexpr int kMaxCopyDims = 8;

// Passed to the kernels by value (200 bytes of parameter space).
struct CopyGeometry {
  int ndim = 0;             // after merging; 0 for a single element
  bool fits_int32 = true;   // every linear index and offset fits in int32, so the kernels divide in 32 bits
  int64_t numel = 1;
  int64_t shape[kMaxCopyDims] = {};
  int64_t src_stride[kMaxCopyDims] = {};  // in elements
  int64_t dst_stride[kMaxCopyDims] = {};
};

// Drops size-1 dimensions and merges neighbours that are one run in both views (a contiguous pair becomes one
// dimension of stride 1). False when more than kMaxCopyDims dimensions remain. Strides are non-negative.
inline bool make_copy_geometry(const int64_t* shape, const int64_t* src_strides, const int64_t* dst_strides,
                               int ndim, CopyGeometry& g) {
  g = CopyGeometry{};
  int64_t sh[64], ss[64], ds[64];
  int n = 0;
  for (int d = 0; d < ndim; ++d) {
    g.numel *= shape[d];
    if (shape[d] == 1) continue;
    if (n > 0 && ss[n - 1] == src_strides[d] * shape[d] && ds[n - 1] == dst_strides[d] * shape[d]) {
      sh[n - 1] *= shape[d];
      ss[n - 1] = src_strides[d];
      ds[n - 1] = dst_strides[d];
      continue;
    }
    if (n == 64) return false;
    sh[n] = shape[d], ss[n] = src_strides[d], ds[n] = dst_strides[d];
    ++n;
  }
  if (n > kMaxCopyDims) return false;
  g.ndim = n;
  int64_t src_extent = 0, dst_extent = 0;
  for (int d = 0; d < n; ++d) {
    g.shape[d] = sh[d], g.src_stride[d] = ss[d], g.dst_stride[d] = ds[d];
    src_extent += (sh[d] - 1) * ss[d];
    dst_extent += (sh[d] - 1) * ds[d];
  }
  // Half of int32's range for the index: the grid-stride step must not overflow past numel.
  const int64_t limit = std::numeric_limits<int32_t>::max();
  g.fits_int32 = g.numel <= limit / 2 && src_extent < limit && dst_extent < limit;
  return true;
}

// Offsets (in elements) of linear index i, in row-major order over g.shape, within the source and destination.
template <class Index>
ASYNDGAN_HD void copy_offsets(const CopyGeometry& g, Index i, Index& src, Index& dst) {
  src = 0;
  dst = 0;
  // Innermost first; the outermost dimension takes the remaining quotient without a division.
  ASYNDGAN_UNROLL
  for (int d = kMaxCopyDims - 1; d >= 1; --d) {
    if (d < g.ndim) {
      const Index size = static_cast<Index>(g.shape[d]);
      const Index q = i / size, r = i - q * size;
      src += r * static_cast<Index>(g.src_stride[d]);
      dst += r * static_cast<Index>(g.dst_stride[d]);
      i = q;
    }
  }
  if (g.ndim > 0) {
    src += i * static_cast<Index>(g.src_stride[0]);
    dst += i * static_cast<Index>(g.dst_stride[0]);
  }
}

}  // namespace asyndgan::kern::cuda
