// The cache policy of the CUDA caching allocator as plain host C++ over any upstream allocate/free pair, so the
// policy is unit-tested on the CPU (tests/engine/test_block_cache.cpp) and kernels/cuda/allocator.cu binds it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
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
// is in the same size range (small or large) and at most twice the request's class, the smallest such first, so
// a tiny tensor cannot pin a huge block. All members are thread-safe.
//
// Private pools (CUDA graphs): a captured graph replays its kernels on the addresses they had at capture, so the
// blocks allocated during a capture must never serve anyone else while the graph lives. While a pool is active
// (between set_active_pool(id) and set_active_pool(0)), allocate() takes from that pool's free blocks or from
// upstream, never from the general ones; a block allocated in a pool goes back to that pool's free list when
// released, even after the capture, until release_pool(id) (the graph is destroyed) hands the pool's free blocks
// to the general cache and sends its live ones there when they are released. Nothing is deallocated upstream
// while a pool is active: freeing device memory synchronizes the device, which a stream capture forbids.
template <class Upstream>
class BlockCache {
 public:
  using PoolId = uint64_t;  // 0: the general cache
  explicit BlockCache(Upstream upstream) : up_(std::move(upstream)) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A block of at least nbytes; nullptr when upstream is out of memory even after the cache was returned to it
  // (while a pool is active the cache cannot be returned, so that retry is skipped).
  void* allocate(size_t nbytes) {
    const size_t size = block_size_class(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    size_t got = size;
    void* p = take_cached(active_ ? pools_.at(active_) : free_, size, got);
    if (!p) {
      p = allocate_upstream(size);
      if (!p && !active_) {
        release_cached();  // fragmentation across classes is the usual cause: give everything back, try once more
        p = allocate_upstream(size);
      }
      if (!p) return nullptr;
      stats_.reserved += size;
    }
    live_.emplace(p, Live{got, active_});
    stats_.allocated += got;
    if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
    return p;
  }

  // Returns the block to its class in the pool it came from (the general cache once that pool is released);
  // false (and nothing changes) when p is not a live block of this cache.
  bool release(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return false;
    const Live b = it->second;
    live_.erase(it);
    stats_.allocated -= b.size;
    (b.pool ? pools_.at(b.pool) : free_).emplace(b.size, p);
    return true;
  }

  // A new, empty private pool.
  PoolId create_pool() {
    std::lock_guard<std::mutex> lock(mu_);
    const PoolId id = next_pool_++;
    pools_.emplace(id, FreeList{});
    return id;
  }
  // Routes allocations to pool `id` (created and not released), or back to the general cache with 0.
  void set_active_pool(PoolId id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (id && !pools_.count(id)) throw std::logic_error("BlockCache::set_active_pool: no such pool");
    active_ = id;
  }
  PoolId active_pool() const {
    std::lock_guard<std::mutex> lock(mu_);
    return active_;
  }
  // The pool's owner is gone: its free blocks join the general cache, and its live blocks will when released.
  void release_pool(PoolId id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pools_.find(id);
    if (it == pools_.end()) return;
    free_.merge(it->second);
    pools_.erase(it);
    for (auto& [p, b] : live_)
      if (b.pool == id) b.pool = 0;
    if (active_ == id) active_ = 0;
  }

  // Gives every cached free block of the general cache back to upstream; live blocks and private pools are
  // untouched. Does nothing while a pool is active (a capture is under way).
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!active_) release_cached();
  }

  BlockCacheStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_allocated = stats_.allocated;
  }
  // Free blocks cached for general use, and for pool `id`.
  size_t cached_blocks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return free_.size();
  }
  size_t pool_cached_blocks(PoolId id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pools_.find(id);
    return it == pools_.end() ? 0 : it->second.size();
  }
  Upstream& upstream() { return up_; }

 private:
  using FreeList = std::multimap<size_t, void*>;  // free blocks by size: best fit is lower_bound
  struct Live {
    size_t size;
    PoolId pool;  // where the block goes when released
  };

  static void* take_cached(FreeList& free, size_t size, size_t& got) {
    auto it = free.lower_bound(size);
    if (it == free.end() || it->first > 2 * size || (it->first < kBlockSmallLimit) != (size < kBlockSmallLimit))
      return nullptr;
    got = it->first;
    void* p = it->second;
    free.erase(it);
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
  FreeList free_;                          // the general cache
  std::map<PoolId, FreeList> pools_;       // private pools alive, with their free blocks
  std::unordered_map<void*, Live> live_;   // handed-out blocks
  PoolId active_ = 0, next_pool_ = 1;
  BlockCacheStats stats_;
};

}  // namespace asyndgan
