// Per-site Philox epochs and the balance / smooth weighted round-robin site schedule (data/sampler.h).
#include "data/sampler.h"
#include <algorithm>
#include <utility>
#include "base/error.h"
#include "engine/rng.h"

namespace asyndgan::data {

void shuffle_epoch(std::vector<int64_t>& items, uint64_t seed, uint64_t tag, uint64_t site, uint64_t epoch) {
  Philox4 block{};
  for (size_t i = items.size(); i-- > 1;) {
    const size_t k = items.size() - 1 - i;
    if (k % 4 == 0) block = keyed_block(seed, tag, k / 4, (site << 32) | (epoch & 0xffffffffu));
    std::swap(items[i], items[block.v[k % 4] % (i + 1)]);
  }
}

SiteEpochs::SiteEpochs(std::vector<int64_t> items, uint64_t seed, uint64_t tag, uint64_t site)
    : items_(std::move(items)), seed_(seed), tag_(tag), site_(site) {
  if (items_.empty()) throw ValueError(msg("SiteEpochs: site ", site, " has no items"));
}

int64_t SiteEpochs::next() {
  if (pos_ == order_.size()) {
    order_ = items_;
    shuffle_epoch(order_, seed_, tag_, site_, epoch_++);
    pos_ = 0;
  }
  return order_[pos_++];
}

void SiteEpochs::restore(std::vector<int64_t> order, size_t position, uint64_t epoch) {
  if (position > order.size())
    throw FormatError(msg("position ", position, " is past an epoch of ", order.size(), " items"));
  std::vector<int64_t> known = items_;
  std::sort(known.begin(), known.end());
  for (int64_t v : order)
    if (!std::binary_search(known.begin(), known.end(), v))
      throw FormatError(msg("the epoch's order holds ", v, ", which is not one of the site's items"));
  order_ = std::move(order);
  pos_ = position;
  epoch_ = epoch;
}

SiteSchedule::SiteSchedule(Sampling sampling, std::vector<int64_t> sizes)
    : sampling_(sampling), sizes_(std::move(sizes)), credits_(sizes_.size(), 0) {
  if (sizes_.empty()) throw ValueError("SiteSchedule: no sites");
  for (size_t s = 0; s < sizes_.size(); ++s) {
    if (sizes_[s] < 1) throw ValueError(msg("SiteSchedule: site ", s, " has ", sizes_[s], " samples"));
    total_ += sizes_[s];
  }
}

size_t SiteSchedule::next() {
  const uint64_t turn = turns_++;
  if (sampling_ == Sampling::balance) return static_cast<size_t>(turn % sizes_.size());
  size_t best = 0;
  for (size_t s = 0; s < sizes_.size(); ++s) {
    credits_[s] += sizes_[s];
    if (credits_[s] > credits_[best]) best = s;
  }
  credits_[best] -= total_;
  return best;
}

void SiteSchedule::restore(uint64_t turns, std::vector<int64_t> credits) {
  if (credits.size() != sizes_.size())
    throw FormatError(msg("a schedule of ", sizes_.size(), " sites cannot take ", credits.size(), " credits"));
  turns_ = turns;
  credits_ = std::move(credits);
}

}  // namespace asyndgan::data
