// Reflection padding (forward gather, backward scatter-add per plane) and concatenation by row copies.
#include "kernels/cpu/shape.h"
#include <cstring>
#include <vector>
#include "kernels/common/shape_math.h"

namespace asyndgan::kern::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

}  // namespace

template <class T> void reflection_pad2d(const T* x, int64_t planes, int64_t h, int64_t w, int64_t left,
                                         int64_t right, int64_t top, int64_t bottom, T* out) {
  const int64_t oh = h + top + bottom, ow = w + left + right;
#pragma omp parallel for collapse(2) if (planes * oh * ow > kParallelMin) schedule(static)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t r = 0; r < oh; ++r) {
      const T* src = x + (p * h + reflect_index(r - top, h)) * w;
      T* dst = out + (p * oh + r) * ow;
      for (int64_t c = 0; c < ow; ++c) dst[c] = src[reflect_index(c - left, w)];
    }
}

// Several output positions read the same input element, so each plane is accumulated by one thread in a
// fixed order: the sums do not depend on the thread count.
template <class T> void reflection_pad2d_backward(const T* g, int64_t planes, int64_t h, int64_t w, int64_t left,
                                                  int64_t right, int64_t top, int64_t bottom, T* gin) {
  const int64_t oh = h + top + bottom, ow = w + left + right;
#pragma omp parallel for if (planes * oh * ow > kParallelMin) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    T* dst = gin + p * h * w;
    std::memset(static_cast<void*>(dst), 0, static_cast<size_t>(h * w) * sizeof(T));
    for (int64_t r = 0; r < oh; ++r) {
      const T* src = g + (p * oh + r) * ow;
      T* row = dst + reflect_index(r - top, h) * w;
      for (int64_t c = 0; c < ow; ++c) row[reflect_index(c - left, w)] += src[c];
    }
  }
}

// Every (row, source) pair is one memcpy into a disjoint destination range. Along dim 1 of NCHW a row is a
// sample, so a U-Net skip concatenation is one contiguous block per sample and input.
void concat_rows(const void* const* srcs, const int64_t* src_row_bytes, int64_t count, int64_t outer, void* dst) {
  std::vector<int64_t> offset(static_cast<size_t>(count) + 1, 0);
  for (int64_t i = 0; i < count; ++i) offset[i + 1] = offset[i] + src_row_bytes[i];
  const int64_t row = offset[count];
  char* out = static_cast<char*>(dst);
#pragma omp parallel for collapse(2) if (outer * row > 8 * kParallelMin) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < count; ++i)
      if (src_row_bytes[i] > 0)
        std::memcpy(out + o * row + offset[i], static_cast<const char*>(srcs[i]) + o * src_row_bytes[i],
                    static_cast<size_t>(src_row_bytes[i]));
}

#define ASYNDGAN_INSTANTIATE(T)                                                                              \
  template void reflection_pad2d<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, T*); \
  template void reflection_pad2d_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                                             int64_t, T*);
ASYNDGAN_INSTANTIATE(float)
ASYNDGAN_INSTANTIATE(double)
#undef ASYNDGAN_INSTANTIATE

}  // namespace asyndgan::kern::cpu
