// One BlockCache (base/block_cache.h) per device over cudaMalloc/cudaFree.
//
// Why a freed block can be handed out again at once, with no event or synchronization: every kernel and copy
// of a device runs on that device's one stream (cuda_rt::current_stream), so any work that reads or writes the
// block's new owner is queued after all the work of its previous owner. Work on another stream (NCCL, a side
// stream) would need an event recorded at free time; there is none today. A CUDA graph's replays run on the same
// stream, and the blocks its kernels use stay in its private pool until it is destroyed (engine/cuda_graph.h).
#include "kernels/cuda/allocator.cuh"
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include "base/block_cache.h"
#include "base/error.h"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {
namespace {

struct CudaUpstream {
  int device;
  void* allocate(size_t nbytes) {
    check(cudaSetDevice(device), "cudaSetDevice");
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, nbytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // out of memory is not sticky: clear it so the retry and later calls start clean
      return nullptr;
    }
    check(err, "cudaMalloc");
    return p;
  }
  void deallocate(void* p, size_t) {
    // A cached block may still be read by queued kernels of its last owner; the driver must not get it back
    // before they finish. Errors are ignored: at process exit the runtime may already be unloading.
    cudaSetDevice(device);
    cudaDeviceSynchronize();
    cudaFree(p);
    cudaGetLastError();
  }
};

using Cache = BlockCache<CudaUpstream>;

// Created on first use and never destroyed: tensors that outlive main() still free into a live cache.
Cache& cache(int device) {
  static std::vector<Cache*>* caches = [] {
    auto* v = new std::vector<Cache*>();
    for (int d = 0, n = cuda_rt::device_count(); d < n; ++d) v->push_back(new Cache(CudaUpstream{d}));
    return v;
  }();
  return *caches->at(static_cast<size_t>(device));
}

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

void* cached_malloc(size_t nbytes, int device) {
  Cache& c = cache(device);
  if (void* p = c.allocate(nbytes)) return p;
  BlockCacheStats s = c.stats();
  size_t free_b = 0, total_b = 0;
  std::string card;
  if (cudaSetDevice(device) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
    card = msg("; the card has ", gib(free_b), " free of ", gib(total_b));
  cudaGetLastError();
  throw DeviceError(msg("cuda:", device, " is out of memory allocating ", gib(nbytes), " (", nbytes, " bytes): ",
                        gib(s.allocated), " allocated to tensors, ", gib(s.reserved),
                        " reserved by the cache after returning its free blocks", card,
                        ". Use a smaller batch or image size, or bf16 activations"));
}

void cached_free(void* ptr, int device) {
  if (!cache(device).release(ptr))
    std::fprintf(stderr, "asyndgan: cuda:%d: freeing %p, which the caching allocator did not hand out (ignored)\n",
                 device, ptr);
}

cuda_rt::MemoryStats cached_stats(int device) {
  BlockCacheStats s = cache(device).stats();
  return {s.allocated, s.peak_allocated, s.reserved, s.upstream_allocs};
}

void cached_reset_peak(int device) { cache(device).reset_peak(); }

void cached_empty_cache(int device) { cache(device).empty_cache(); }

uint64_t cached_pool_create(int device) { return cache(device).create_pool(); }
void cached_pool_activate(uint64_t pool, int device) { cache(device).set_active_pool(pool); }
void cached_pool_release(uint64_t pool, int device) { cache(device).release_pool(pool); }

}  // namespace asyndgan::kern::cuda
