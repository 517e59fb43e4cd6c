// Shape kernels over contiguous host buffers: reflection padding of [planes, H, W] and byte-wise concatenation.
#pragma once
#include <cstdint>

namespace asyndgan::kern::cpu {

// out [planes, H+top+bottom, W+left+right] <- x [planes, H, W] reflected at the borders (each pad < its dim).
template <class T> void reflection_pad2d(const T* x, int64_t planes, int64_t h, int64_t w, int64_t left,
                                         int64_t right, int64_t top, int64_t bottom, T* out);
// gin [planes, H, W] = sum of the gradients of every output position that reads each input element.
template <class T> void reflection_pad2d_backward(const T* g, int64_t planes, int64_t h, int64_t w, int64_t left,
                                                  int64_t right, int64_t top, int64_t bottom, T* gin);

// dst holds `outer` rows; row o is the concatenation of row o of every source (src_row_bytes[i] bytes each).
void concat_rows(const void* const* srcs, const int64_t* src_row_bytes, int64_t count, int64_t outer, void* dst);

}  // namespace asyndgan::kern::cpu
