// The CUDA caching allocator behind cuda_rt::device_malloc/device_free: base/block_cache.h's policy over
// cudaMalloc/cudaFree, one cache per device, with the statistics `asyndgan info` and the logs report.
#pragma once
#include <cstddef>
#include "base/cuda_runtime.h"

namespace asyndgan::kern::cuda {

// `device` must exist (the runtime checks it). Out of memory even after returning the cache to the driver
// throws a DeviceError naming the request, what is allocated and reserved, and the fix.
void* cached_malloc(size_t nbytes, int device);
void cached_free(void* ptr, int device);  // never throws: it runs in Storage's destructor
cuda_rt::MemoryStats cached_stats(int device);
void cached_reset_peak(int device);
void cached_empty_cache(int device);  // waits for the device's stream, then returns every cached free block
// Private pools for CUDA graphs (base/block_cache.h).
uint64_t cached_pool_create(int device);
void cached_pool_activate(uint64_t pool, int device);
void cached_pool_release(uint64_t pool, int device);

}  // namespace asyndgan::kern::cuda
