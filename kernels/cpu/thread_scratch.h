// Scratch buffers that each thread keeps across calls, for the CPU convolution's per-thread blocks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace asyndgan::kern::cpu {

// At least n elements, owned by the calling thread and kept for its next call: allocating and faulting in
// megabytes per call costs about as much as the copies that fill them. Slot tells apart buffers used at once.
template <class T, int Slot> T* thread_buffer(int64_t n) {
  thread_local std::vector<T> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

}  // namespace asyndgan::kern::cpu
