// Index math of the shape ops shared by the CPU and CUDA kernels: the reflection padding's source index and
// its inverse.
#pragma once
#include <cstdint>
#include "base/hostdevice.h"

namespace asyndgan::kern {

// PyTorch's ReflectionPad index: mirror about the first and last element, which are not repeated (the op
// checks that each pad is smaller than n, so one reflection suffices).
ASYNDGAN_HD int64_t reflect_index(int64_t i, int64_t n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

// The inverse: the padded positions q in [0, n + before + after) with reflect_index(q - before, n) == i, in
// ascending order (at most three: the mirror before, i itself, the mirror after). Returns their count. The
// gather-style backward sums them in this order, the order in which the CPU's scatter visits them.
ASYNDGAN_HD int reflect_sources(int64_t i, int64_t n, int64_t before, int64_t after, int64_t (&q)[3]) {
  int count = 0;
  if (i > 0 && i <= before) q[count++] = before - i;
  q[count++] = before + i;
  if (i < n - 1 && n - 1 - i <= after) q[count++] = before + 2 * (n - 1) - i;
  return count;
}

}  // namespace asyndgan::kern
