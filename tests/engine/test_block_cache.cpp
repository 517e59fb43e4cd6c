// The CUDA caching allocator's policy (base/block_cache.h) over a fake upstream that hands out fake addresses.
#include <doctest/doctest.h>
#include <cstdint>
#include <set>
#include <vector>
#include "base/block_cache.h"

using namespace asyndgan;

namespace {

struct FakeUpstream {
  uintptr_t next = 0x10000;
  size_t capacity = SIZE_MAX;  // bytes it may have out at once; beyond that it is "out of memory"
  size_t out = 0;
  int allocs = 0, frees = 0;
  std::set<uintptr_t> live;
  void* allocate(size_t n) {
    ++allocs;
    if (out + n > capacity) return nullptr;
    out += n;
    uintptr_t p = next;
    next += n + 4096;
    live.insert(p);
    return reinterpret_cast<void*>(p);
  }
  void deallocate(void* p, size_t n) {
    ++frees;
    REQUIRE(live.erase(reinterpret_cast<uintptr_t>(p)) == 1);
    out -= n;
  }
};

constexpr size_t MiB = size_t{1} << 20;

}  // namespace

TEST_CASE("block cache: size classes are 512 B steps below 1 MiB and 2 MiB steps from there") {
  CHECK(block_size_class(0) == 512);
  CHECK(block_size_class(1) == 512);
  CHECK(block_size_class(512) == 512);
  CHECK(block_size_class(513) == 1024);
  CHECK(block_size_class(MiB - 1) == MiB);
  CHECK(block_size_class(MiB) == 2 * MiB);
  CHECK(block_size_class(2 * MiB + 1) == 4 * MiB);
  CHECK(block_size_class(100 * MiB) == 100 * MiB);
}

TEST_CASE("block cache: a freed block is reused by the next request of its class without an upstream call") {
  BlockCache<FakeUpstream> c{FakeUpstream{}};
  void* a = c.allocate(1000);  // class 1024
  CHECK(c.upstream().allocs == 1);
  CHECK(c.release(a));
  void* b = c.allocate(900);  // same class
  CHECK(b == a);
  CHECK(c.upstream().allocs == 1);
  // A larger class cannot use it; a tiny request does not take a block more than twice its class.
  void* big = c.allocate(4000);
  CHECK(big != a);
  CHECK(c.upstream().allocs == 2);
  CHECK(c.release(big));
  void* tiny = c.allocate(10);
  CHECK(tiny != big);
  // Small and large pools are kept apart: a 1.5 MiB request never gets a small block and vice versa.
  c.release(b);
  c.release(tiny);
  void* large = c.allocate(MiB + 1);
  CHECK(c.stats().allocated == 2 * MiB);
  CHECK_FALSE(c.release(reinterpret_cast<void*>(0x1)));  // not ours: refused, nothing changes
  CHECK(c.release(large));
  CHECK(c.stats().allocated == 0);
}

TEST_CASE("block cache: allocated, peak and reserved accounting, reset_peak, empty_cache returns free blocks") {
  BlockCache<FakeUpstream> c{FakeUpstream{}};
  void* a = c.allocate(3 * MiB);  // 4 MiB
  void* b = c.allocate(512);
  auto s = c.stats();
  CHECK(s.allocated == 4 * MiB + 512);
  CHECK(s.peak_allocated == 4 * MiB + 512);
  CHECK(s.reserved == 4 * MiB + 512);
  CHECK(s.upstream_allocs == 2);
  c.release(a);
  s = c.stats();
  CHECK(s.allocated == 512);
  CHECK(s.peak_allocated == 4 * MiB + 512);
  CHECK(s.reserved == 4 * MiB + 512);
  c.reset_peak();
  CHECK(c.stats().peak_allocated == 512);
  c.empty_cache();
  s = c.stats();
  CHECK(s.reserved == 512);  // the live block stays
  CHECK(c.upstream().frees == 1);
  CHECK(c.upstream().out == 512);
  CHECK(c.cached_blocks() == 0);
  c.release(b);
  c.empty_cache();
  CHECK(c.stats().reserved == 0);
  CHECK(c.upstream().live.empty());
}

TEST_CASE("block cache: 1000 training-like steps keep upstream calls flat once warm") {
  BlockCache<FakeUpstream> c{FakeUpstream{}};
  const std::vector<size_t> step = {64 * 64 * 4, 3 * MiB, 3 * MiB + 4096, 12345, 7 * MiB, 256};
  int64_t warm = -1;
  for (int it = 0; it < 1000; ++it) {
    std::vector<void*> held;
    for (size_t n : step) held.push_back(c.allocate(n));
    for (size_t i = held.size(); i-- > 0;) c.release(held[i]);
    if (it == 0) warm = c.stats().upstream_allocs;
  }
  CHECK(c.stats().upstream_allocs == warm);
  CHECK(c.stats().allocated == 0);
  CHECK(c.stats().reserved == c.upstream().out);
}

TEST_CASE("block cache: out of memory returns the cache to upstream and retries once, then reports nullptr") {
  FakeUpstream up;
  up.capacity = 8 * MiB;
  BlockCache<FakeUpstream> c{up};
  void* a = c.allocate(3 * MiB);  // 4 MiB block
  void* b = c.allocate(MiB);      // 2 MiB block
  c.release(a);
  c.release(b);
  // 6 MiB: no cached block fits and upstream has only 2 MiB left, so the cache goes back and the retry succeeds.
  void* d = c.allocate(5 * MiB + 1);
  REQUIRE(d != nullptr);
  CHECK(c.cached_blocks() == 0);
  CHECK(c.stats().reserved == 6 * MiB);
  CHECK(c.stats().upstream_allocs == 4);
  CHECK(c.allocate(4 * MiB) == nullptr);  // truly out of memory
  CHECK(c.stats().allocated == 6 * MiB);
}

TEST_CASE("block cache: a private pool's blocks serve only that pool while it lives, then go general") {
  BlockCache<FakeUpstream> c{FakeUpstream{}};
  void* before = c.allocate(1000);  // a general block, released during the capture below
  const auto pool = c.create_pool();
  c.set_active_pool(pool);
  void* a = c.allocate(1000);
  void* b = c.allocate(3 * MiB);
  CHECK(a != before);
  CHECK(c.release(before));  // a general block freed during capture goes back to the general cache...
  void* in_pool = c.allocate(900);
  CHECK(in_pool != before);  // ...and a capture never takes it: only the pool's own blocks or upstream
  CHECK(c.release(a));       // freed during the capture: reused within the pool
  void* a2 = c.allocate(1000);
  CHECK(a2 == a);
  c.set_active_pool(0);
  CHECK(c.active_pool() == 0);
  CHECK(c.cached_blocks() == 1);  // `before`
  CHECK(c.stats().upstream_allocs == 4);

  // After the capture the pool's freed blocks stay reserved to it: general requests of their class miss them.
  CHECK(c.release(a2));
  CHECK(c.release(in_pool));
  CHECK(c.pool_cached_blocks(pool) == 2);
  void* g1 = c.allocate(1000);
  void* g2 = c.allocate(1000);
  CHECK(g1 == before);
  CHECK(g2 != a2);
  CHECK(g2 != in_pool);
  CHECK(c.stats().upstream_allocs == 5);
  // A later capture into the same pool finds them again.
  c.set_active_pool(pool);
  void* r = c.allocate(1000);
  CHECK((r == a2 || r == in_pool));
  c.set_active_pool(0);
  CHECK(c.release(r));

  // Graph destroyed: free pool blocks join the general cache; b, still live, goes there when released.
  c.release_pool(pool);
  CHECK(c.pool_cached_blocks(pool) == 0);
  CHECK(c.cached_blocks() == 2);
  void* x = c.allocate(1000);
  void* y = c.allocate(1000);
  CHECK(((x == a2 && y == in_pool) || (x == in_pool && y == a2)));
  CHECK(c.release(b));
  CHECK(c.cached_blocks() == 1);
  CHECK(c.allocate(3 * MiB) == b);
  CHECK(c.stats().upstream_allocs == 5);
  CHECK(c.stats().allocated == 2 * 1024 + 2 * 1024 + 4 * MiB);  // g1, g2, x, y, b
  CHECK_THROWS(c.set_active_pool(pool));  // released: cannot be used again
}

TEST_CASE("block cache: stats count pool blocks, nothing goes upstream while a pool is active") {
  FakeUpstream up;
  up.capacity = 8 * MiB;
  BlockCache<FakeUpstream> c{up};
  void* g = c.allocate(3 * MiB);  // 4 MiB, general
  c.release(g);
  const auto pool = c.create_pool();
  c.set_active_pool(pool);
  void* p = c.allocate(MiB);  // 2 MiB from upstream: the cached 4 MiB block is general, not the pool's
  CHECK(p != g);
  auto s = c.stats();
  CHECK(s.allocated == 2 * MiB);
  CHECK(s.reserved == 6 * MiB);
  // Upstream has 2 MiB left: a 4 MiB request fails rather than returning the general cache (a synchronization).
  CHECK(c.allocate(3 * MiB) == nullptr);
  c.empty_cache();  // refused while capturing
  CHECK(c.upstream().frees == 0);
  CHECK(c.cached_blocks() == 1);
  c.set_active_pool(0);
  c.release(p);
  CHECK(c.stats().allocated == 0);
  CHECK(c.stats().reserved == 6 * MiB);
  c.empty_cache();  // the general block goes back; the pool's block stays reserved to the pool
  CHECK(c.upstream().frees == 1);
  CHECK(c.stats().reserved == 2 * MiB);
  CHECK(c.pool_cached_blocks(pool) == 1);
  c.release_pool(pool);
  c.empty_cache();
  CHECK(c.stats().reserved == 0);
  CHECK(c.upstream().live.empty());
}
