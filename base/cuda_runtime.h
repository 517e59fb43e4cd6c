// The CUDA runtime services the engine core needs: devices, the caching allocator, copies, the current stream
// and memory statistics. A CPU-only build defines them to report no GPU (engine/cuda_runtime_none.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

namespace asyndgan::cuda_rt {

int device_count();  // 0 without a GPU or without CUDA compiled in
// Why device_count() is 0, for the one-line CPU fallback note ("" when there are devices).
const char* no_device_reason();

// Device memory from the caching, stream-ordered allocator (kernels/cuda/allocator.cu): a freed block goes
// back to its size class and is reused by later allocations on the same stream without a synchronization.
void* device_malloc(size_t nbytes, int device);
void device_free(void* ptr, int device);

// kind: 0 host->device, 1 device->host, 2 device->device. Ordered on the device's current stream; a copy to
// the host returns once the data is there.
void memcpy(void* dst, const void* src, size_t nbytes, int kind, int device);

// The stream every kernel of `device` launches on (a cudaStream_t; void* keeps CUDA types out of the engine),
// created non-blocking on first use. Also makes `device` the calling thread's current device, so the launch
// that follows lands on it.
void* current_stream(int device);
void synchronize(int device);  // waits for all work queued on the device's current stream

// Page-locked ("pinned") host memory (kernels/cuda/host_allocator.cu), cached like device memory: copies to and
// from it run at the bus's full rate, and a host-to-device copy from it returns before it has read its source. A
// freed block serves again only once the copies queued on the devices' streams before the free have finished, so
// the tensor a copy reads may be dropped as soon as the copy is queued.
void* host_pinned_malloc(size_t nbytes);
void host_pinned_free(void* ptr);  // never throws
struct HostPinnedStats {
  size_t allocated = 0;       // bytes in blocks handed out, or freed with copies possibly still in flight
  size_t reserved = 0;        // bytes obtained from cudaHostAlloc and not returned
  int64_t host_allocs = 0;    // cudaHostAlloc calls so far: flat once the cache is warm
  size_t in_flight = 0;       // freed blocks waiting for their copies before they serve again
};
HostPinnedStats host_pinned_stats();

struct MemoryStats {
  size_t allocated = 0;       // bytes held by live tensors now
  size_t peak_allocated = 0;  // the most ever held at once (since the last reset)
  size_t reserved = 0;        // bytes the cache holds from the driver (allocated + cached free blocks)
  int64_t device_mallocs = 0; // cudaMalloc calls so far: flat once the cache is warm
};
MemoryStats memory_stats(int device);
void reset_peak_memory(int device);
void empty_cache(int device);  // returns cached free blocks to the driver

// ---- CUDA graphs (engine/cuda_graph.cpp) ----
// Private memory pools of the caching allocator (base/block_cache.h): while one is active on a device, every
// allocation there comes from it, and its blocks serve nothing else until it is released.
uint64_t graph_pool_create(int device);
void graph_pool_activate(uint64_t pool, int device);  // 0: back to the general cache
void graph_pool_release(uint64_t pool, int device);
// Stream capture of the device's current stream (relaxed mode: other threads may still call CUDA).
void capture_begin(int device);
// Ends the capture and instantiates it; returns the executable graph (a cudaGraphExec_t).
void* capture_end(int device);
void capture_abort(int device);  // ends a failed capture, discarding it; never throws
void graph_launch(void* exec, int device);  // on the device's current stream
void graph_destroy(void* exec);             // safe while a launch is in flight; never throws

// Name and compute capability of a device, for `asyndgan info` and the logs ("" when there is none).
const char* device_name(int device);

}  // namespace asyndgan::cuda_rt
