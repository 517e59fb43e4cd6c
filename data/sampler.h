// The sampling that data::Loader and the central node's sampler (dist/sampler.h) share: each site walks its
// items in a fresh Philox permutation per epoch of that site, and a schedule says which site a batch comes from.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace asyndgan::data {

enum class Sampling {
  balance,  // batches cycle through the sites in order, one per site per step; small sites repeat sooner
  uniform,  // sites are visited in proportion to their sample counts (smooth weighted round-robin)
};

// `items` put in the order of epoch `epoch` of site `site`: Fisher-Yates from the Philox stream keyed by
// (seed, tag) (engine/rng.h keyed_block), block k / 4 of the site's epoch giving the k-th swap. Callers with
// different tags draw independent orders from one seed.
void shuffle_epoch(std::vector<int64_t>& items, uint64_t seed, uint64_t tag, uint64_t site, uint64_t epoch);

// One site's walk through its items: a fresh permutation each epoch, the next epoch starting when one is used up.
class SiteEpochs {
 public:
  SiteEpochs(std::vector<int64_t> items, uint64_t seed, uint64_t tag, uint64_t site);

  int64_t next();
  size_t size() const { return items_.size(); }

  // What a checkpoint keeps: the current epoch's order (empty before the first), the position in it and the
  // epochs started. restore() takes them back: a FormatError when the position is past the order or the order
  // holds something that is not one of the items.
  const std::vector<int64_t>& order() const { return order_; }
  size_t position() const { return pos_; }
  uint64_t epoch() const { return epoch_; }
  void restore(std::vector<int64_t> order, size_t position, uint64_t epoch);

 private:
  std::vector<int64_t> items_, order_;
  uint64_t seed_, tag_, site_;
  size_t pos_ = 0;
  uint64_t epoch_ = 0;
};

// Which site each batch comes from. balance: 0, 1, ..., n-1 and again. uniform: every site gains its size, the
// richest (the first of equals) is chosen and pays the total, so over any run of sum(sizes) batches each site
// gets exactly its share, spread out rather than in runs.
class SiteSchedule {
 public:
  SiteSchedule(Sampling sampling, std::vector<int64_t> sizes);  // ValueError: no sites, or a size below 1

  size_t next();

  // What a checkpoint needs to continue: the batches scheduled so far and uniform's credits.
  uint64_t turns() const { return turns_; }
  const std::vector<int64_t>& credits() const { return credits_; }
  void restore(uint64_t turns, std::vector<int64_t> credits);  // FormatError: a credit per site

 private:
  Sampling sampling_;
  std::vector<int64_t> sizes_, credits_;
  int64_t total_ = 0;
  uint64_t turns_ = 0;
};

}  // namespace asyndgan::data
