// One BlockCache (base/block_cache.h) of page-locked host blocks over cudaHostAlloc/cudaFreeHost.
//
// Unlike device memory, a host block is read and written by two parties that do not share a queue: the host
// (at once) and the copies queued on the devices' streams (later). A copy from pinned memory returns before it
// has read its source, so a block freed right after its copy was queued must not be handed to a new owner, who
// would overwrite it, until that copy has run: each free records an event on every device's stream, and the
// block joins the cache only once those events have completed (checked on the next allocation, never waited
// for: a block still in flight is simply not reused yet).
#include "kernels/cuda/host_allocator.cuh"
#include <deque>
#include <mutex>
#include <vector>
#include "base/block_cache.h"
#include "base/error.h"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {
namespace {

struct PinnedUpstream {
  void* allocate(size_t nbytes) {
    void* p = nullptr;
    // Portable: the block is pinned for every device's context, not only the current one.
    cudaError_t err = cudaHostAlloc(&p, nbytes, cudaHostAllocPortable);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    check(err, "cudaHostAlloc");
    return p;
  }
  void deallocate(void* p, size_t) {
    cudaFreeHost(p);  // the block's copies are done (it was in the cache); errors at exit are ignored
    cudaGetLastError();
  }
};

struct InFlight {
  void* ptr;
  std::vector<cudaEvent_t> events;  // one per device whose stream may still copy from or to the block
};

class PinnedCache {
 public:
  void* allocate(size_t nbytes) {
    std::lock_guard<std::mutex> lock(mu_);
    retire_finished();
    return cache_.allocate(nbytes);
  }

  void release(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    InFlight f{p, {}};
    for (int d = 0, n = cuda_rt::device_count(); d < n; ++d) {
      const cudaStream_t s = stream(d);
      cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
      // An event recorded into a capture would belong to the graph, not to this free; host copies cannot be in
      // a capture (cuda_rt::memcpy refuses them), so while one runs there is nothing of this block to wait for.
      if (cudaStreamIsCapturing(s, &capturing) != cudaSuccess || capturing != cudaStreamCaptureStatusNone) continue;
      cudaEvent_t e = take_event();
      if (!e || cudaEventRecord(e, s) != cudaSuccess) {
        // No event: wait for the stream now rather than risk handing out a block a copy still reads.
        if (e) events_.push_back(e);
        cudaStreamSynchronize(s);
        continue;
      }
      f.events.push_back(e);
    }
    cudaGetLastError();
    in_flight_.push_back(std::move(f));
  }

  cuda_rt::HostPinnedStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    retire_finished();
    const BlockCacheStats s = cache_.stats();
    return {s.allocated, s.reserved, s.upstream_allocs, in_flight_.size()};
  }

 private:
  // Blocks whose copies have all finished go back to the cache; the others wait for a later call.
  void retire_finished() {
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      bool done = true;
      for (cudaEvent_t e : it->events) done = done && cudaEventQuery(e) != cudaErrorNotReady;
      if (!done) {
        ++it;
        continue;
      }
      for (cudaEvent_t e : it->events) events_.push_back(e);
      cache_.release(it->ptr);
      it = in_flight_.erase(it);
    }
    cudaGetLastError();  // cudaErrorNotReady is reported through the error state too
  }
  cudaEvent_t take_event() {
    if (!events_.empty()) {
      cudaEvent_t e = events_.back();
      events_.pop_back();
      return e;
    }
    cudaEvent_t e = nullptr;
    if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess) return nullptr;
    return e;
  }

  std::mutex mu_;
  BlockCache<PinnedUpstream> cache_{PinnedUpstream{}};
  std::deque<InFlight> in_flight_;
  std::vector<cudaEvent_t> events_;  // recycled: creating one per free would cost more than the copy it guards
};

// Never destroyed, like the device caches: host tensors that outlive main() still free into a live cache.
PinnedCache& cache() {
  static PinnedCache* c = new PinnedCache();
  return *c;
}

}  // namespace

void* pinned_malloc(size_t nbytes) {
  if (void* p = cache().allocate(nbytes)) return p;
  throw DeviceError(msg("page-locked host memory: cudaHostAlloc of ", nbytes, " bytes failed (the driver's limit on "
                        "pinned memory is reached); free host tensors or lower the batch size"));
}

void pinned_free(void* ptr) {
  if (ptr) cache().release(ptr);
}

cuda_rt::HostPinnedStats pinned_stats() { return cache().stats(); }

}  // namespace asyndgan::kern::cuda
