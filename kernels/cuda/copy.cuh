// Strided copies with dtype conversion and strided fills on the device, for every storage dtype, on the device's
// current stream. Plain C++ declarations: engine/cuda/copy_ops.cpp adapts tensors to them.
#pragma once
#include "base/dtype.h"
#include "kernels/cuda/copy_geometry.h"

namespace asyndgan::kern::cuda {

// dst[dst_offset(i)] = convert(src[src_offset(i)]) for every i of g, with the CPU's conversions (through double
// except same-type and integer-to-integer; bf16/f16 by base/half.h, so results match bit for bit).
// Same dtype with both views one contiguous run is a cudaMemcpyAsync. src and dst must not overlap.
void copy_strided(const void* src, DType src_dtype, void* dst, DType dst_dtype, const CopyGeometry& g, int device);

// dst[dst_offset(i)] = value converted to dtype as the CPU's kern::cpu::fill does; src strides are ignored.
void fill_strided(void* dst, DType dtype, double value, const CopyGeometry& g, int device);

// dst[i] = scalar[0] * factor (in double, then converted as fill_strided converts) for i in [0, n): a fill
// whose value stays on the device.
void fill_from_scalar(const void* scalar, DType scalar_dtype, double factor, void* dst, DType dtype, int64_t n,
                      int device);
void increment_i64(int64_t* counter, int device);  // *counter += 1

}  // namespace asyndgan::kern::cuda
