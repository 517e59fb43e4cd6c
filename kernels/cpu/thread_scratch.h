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

// The same, starting on a 64-byte boundary: whole-vector stores then fill whole cache lines.
template <class T, int Slot> T* aligned_thread_buffer(int64_t n) {
  constexpr int64_t extra = 64 / sizeof(T);
  T* p = thread_buffer<T, Slot>(n + extra);
  return p + (extra - static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % 64 / sizeof(T))) % extra;
}

}  // namespace asyndgan::kern::cpu
