// Strided copies with dtype conversion and strided fills on the device, for every storage dtype.
#pragma once
#include <cuda_runtime.h>
#include "engine/dtype.h"
#include "kernels/cuda/copy_geometry.h"

namespace asyndgan::kern::cuda {

// dst[dst_offset(i)] = convert(src[src_offset(i)]) for every i of g, with the CPU's conversions (through double
// except same-type and integer-to-integer; bf16/f16 by kernels/common/half.h, so results match bit for bit).
// Same dtype with both views one contiguous run is a cudaMemcpyAsync. src and dst must not overlap.
void copy_strided(const void* src, DType src_dtype, void* dst, DType dst_dtype, const CopyGeometry& g,
                  cudaStream_t stream);

// dst[dst_offset(i)] = value converted to dtype as the CPU's kern::cpu::fill does; src strides are ignored.
void fill_strided(void* dst, DType dtype, double value, const CopyGeometry& g, cudaStream_t stream);

}  // namespace asyndgan::kern::cuda
