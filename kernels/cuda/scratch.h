// Device scratch from the caching allocator for the length of one launcher call. Freeing it right after queuing
// the kernels that use it is safe: the block is reused only by later work on the same stream (allocator.cu).
#pragma once
#include <cstddef>
#include "base/cuda_runtime.h"

namespace asyndgan::kern::cuda {

struct Scratch {
  void* ptr = nullptr;
  size_t bytes = 0;
  int device = 0;
  Scratch(size_t nbytes, int dev) : bytes(nbytes), device(dev) {
    if (bytes) ptr = cuda_rt::device_malloc(bytes, device);
  }
  ~Scratch() {
    if (ptr) cuda_rt::device_free(ptr, device);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

}  // namespace asyndgan::kern::cuda
