// Strided gather with dtype conversion, fills and casts over raw host buffers.
#pragma once
#include <cstdint>
#include "base/dtype.h"

namespace asyndgan::kern::cpu {

// dst (contiguous, dst_dtype) <- src viewed through shape/strides (in elements, src_dtype), converting.
void copy_strided(const void* src, DType src_dtype, const int64_t* shape, const int64_t* strides, int ndim,
                  void* dst, DType dst_dtype);
// dst viewed through shape/strides <- contiguous src of the same dtype.
void scatter_strided(const void* src, const int64_t* shape, const int64_t* strides, int ndim, void* dst,
                     DType dtype);
void fill(void* dst, DType dtype, int64_t n, double value);

}  // namespace asyndgan::kern::cpu
