// The cache policy of the CUDA caching allocator as plain host C++ over any upstream allocate/free pair, so the
// policy is unit-tested on the CPU (tests/engine/test_block_cache.cpp) and kernels/cuda/allocator.cu binds it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

namespace asyndgan {

// Size classes: small requests round up to 512 B steps (many distinct sizes, little waste each); from 1 MiB up,
// to 2 MiB steps, so activations whose sizes differ slightly from step to step still share blocks.
constexpr size_t kBlockSmallStep = 512;
constexpr size_t kBlockSmallLimit = size_t{1} << 20;
constexpr size_t kBlockLargeStep = size_t{2} << 20;

inline size_t block_size_class(size_t nbytes) {
  if (nbytes == 0) return kBlockSmallStep;
  const size_t step = nbytes < kBlockSmallLimit ? kBlockSmallStep : kBlockLargeStep;
  return (nbytes + step - 1) / step * step;
}

struct BlockCacheStats {
  size_t allocated = 0;         // bytes in blocks handed out and not yet released (block sizes, not requests)
  size_t peak_allocated = 0;    // the most `allocated` has been since construction or reset_peak()
  size_t reserved = 0;          // bytes obtained from upstream and not returned: allocated + cached free blocks
  int64_t upstream_allocs = 0;  // calls to Upstream::allocate, failed ones included
};

// Upstream: `void* allocate(size_t)` returning nullptr when out of memory (other failures may throw), and
// `void deallocate(void*, size_t)`. Blocks are never split or merged: a cached block serves a request when it
// is in the same pool (small or large) and at most twice the request's class, the smallest such first, so a
// tiny tensor cannot pin a huge block. All members are thread-safe.
template <class Upstream>
class BlockCache {
 public:
  explicit BlockCache(Upstream upstream) : up_(std::move(upstream)) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A block of at least nbytes; nullptr when upstream is out of memory even after the cache was returned to it.
  void* allocate(size_t nbytes) {
    const size_t size = block_size_class(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    size_t got = size;
    void* p = take_cached(size, got);
    if (!p) {
      p = allocate_upstream(size);
      if (!p) {
        release_cached();  // fragmentation across classes is the usual cause: give everything back, try once more
        p = allocate_upstream(size);
      }
      if (!p) return nullptr;
      stats_.reserved += size;
    }
    live_.emplace(p, got);
    stats_.allocated += got;
    if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
    return p;
  }

  // Returns the block to its class; false (and nothing changes) when p is not a live block of this cache.
  bool release(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return false;
    stats_.allocated -= it->second;
    free_.emplace(it->second, p);
    live_.erase(it);
    return true;
  }

  // Gives every cached free block back to upstream; live blocks are untouched.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached();
  }

  BlockCacheStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_allocated = stats_.allocated;
  }
  size_t cached_blocks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return free_.size();
  }
  Upstream& upstream() { return up_; }

 private:
  void* take_cached(size_t size, size_t& got) {
    auto it = free_.lower_bound(size);
    if (it == free_.end() || it->first > 2 * size || (it->first < kBlockSmallLimit) != (size < kBlockSmallLimit))
      return nullptr;
    got = it->first;
    void* p = it->second;
    free_.erase(it);
    return p;
  }
  void* allocate_upstream(size_t size) {
    ++stats_.upstream_allocs;
    return up_.allocate(size);
  }
  void release_cached() {
    for (auto& [size, p] : free_) {
      up_.deallocate(p, size);
      stats_.reserved -= size;
    }
    free_.clear();
  }

  Upstream up_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;      // cached free blocks by size: best fit is lower_bound
  std::unordered_map<void*, size_t> live_;  // handed-out blocks and their sizes
  BlockCacheStats stats_;
};

}  // namespace asyndgan
