// The sampling shared by the loader and the central node (data/sampler.h): per-site epochs that are permutations
// named by (seed, tag, site, epoch), the balance and uniform site schedules, and restoring both mid-way.
#include <doctest/doctest.h>
#include <algorithm>
#include <vector>
#include "base/error.h"
#include "data/sampler.h"

using namespace asyndgan;
using namespace asyndgan::data;

namespace {

std::vector<int64_t> take(SiteEpochs& e, size_t n) {
  std::vector<int64_t> v;
  for (size_t i = 0; i < n; ++i) v.push_back(e.next());
  return v;
}

std::vector<size_t> take(SiteSchedule& s, size_t n) {
  std::vector<size_t> v;
  for (size_t i = 0; i < n; ++i) v.push_back(s.next());
  return v;
}

}  // namespace

TEST_CASE("sampler: each epoch of a site is a fresh permutation of its items, fixed by seed, tag and site") {
  const std::vector<int64_t> items = {3, 8, 13, 21, 34, 55, 89};
  SiteEpochs a(items, 5, 0x1234, 2), same(items, 5, 0x1234, 2);
  std::vector<std::vector<int64_t>> epochs;
  for (int e = 0; e < 4; ++e) {
    const std::vector<int64_t> epoch = take(a, items.size());
    CHECK(epoch == take(same, items.size()));
    std::vector<int64_t> sorted = epoch;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == items);
    epochs.push_back(epoch);
  }
  CHECK(a.epoch() == 4);
  CHECK(epochs[0] != epochs[1]);  // fixed seeds: 7! orders, so equal ones would be a bug, not chance
  SiteEpochs other_tag(items, 5, 0x4321, 2), other_site(items, 5, 0x1234, 3);
  CHECK(take(other_tag, items.size()) != epochs[0]);
  CHECK(take(other_site, items.size()) != epochs[0]);
  std::vector<int64_t> second = items;  // shuffle_epoch is the order of that epoch
  shuffle_epoch(second, 5, 0x1234, 2, 1);
  CHECK(second == epochs[1]);
  CHECK_THROWS_AS(SiteEpochs({}, 5, 0x1234, 0), ValueError);
}

TEST_CASE("sampler: balance cycles through the sites, uniform gives each site exactly its share of every sum(sizes) "
          "batches, spread out") {
  SiteSchedule balance(Sampling::balance, {5, 1, 2});
  CHECK(take(balance, 7) == std::vector<size_t>{0, 1, 2, 0, 1, 2, 0});
  SiteSchedule uniform(Sampling::uniform, {5, 1, 2});
  for (int round = 0; round < 3; ++round) {
    const std::vector<size_t> picks = take(uniform, 8);
    CHECK(std::count(picks.begin(), picks.end(), 0u) == 5);
    CHECK(std::count(picks.begin(), picks.end(), 1u) == 1);
    CHECK(std::count(picks.begin(), picks.end(), 2u) == 2);
  }
  CHECK(take(uniform, 4) == std::vector<size_t>{0, 2, 0, 0});  // the richest, ties to the first (4, 4, 0 at the 4th)
  CHECK_THROWS_AS(SiteSchedule(Sampling::uniform, {}), ValueError);
  CHECK_THROWS_AS(SiteSchedule(Sampling::balance, {3, 0}), ValueError);
}

TEST_CASE("sampler: a restored site and schedule continue exactly, and an inconsistent state is a FormatError") {
  const std::vector<int64_t> items = {0, 1, 2, 3, 4};
  SiteEpochs site(items, 9, 7, 0);
  SiteSchedule schedule(Sampling::uniform, {5, 3});
  take(site, 8);
  take(schedule, 5);
  SiteEpochs site_copy(items, 9, 7, 0);
  site_copy.restore(site.order(), site.position(), site.epoch());
  SiteSchedule schedule_copy(Sampling::uniform, {5, 3});
  schedule_copy.restore(schedule.turns(), schedule.credits());
  CHECK(take(site_copy, 12) == take(site, 12));
  CHECK(take(schedule_copy, 12) == take(schedule, 12));

  CHECK_THROWS_AS(site_copy.restore({0, 1, 2, 3, 4}, 6, 1), FormatError);   // past the epoch
  CHECK_THROWS_AS(site_copy.restore({0, 1, 2, 3, 7}, 0, 1), FormatError);   // not an item
  CHECK_THROWS_AS(schedule_copy.restore(3, {1, 2, 3}), FormatError);       // three credits for two sites
}
