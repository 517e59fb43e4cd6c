// The central node's sampler: which sites take part in a step, which of their uploaded samples, and each
// sample's crop/flip. It works on positions in each site's key list, never on the sites' shards.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "data/loader.h"
#include "data/sampler.h"
#include "engine/io/checkpoint.h"

namespace asyndgan::dist {

struct Draw {
  int64_t site = 0;
  std::vector<int64_t> positions;    // into that site's uploaded keys
  std::vector<data::CropFlip> aug;   // one per position
};

class Sampler {
 public:
  // site_sizes: samples uploaded per site (each > 0). Every site walks its samples in a fresh Philox
  // permutation per epoch of that site (data::SiteEpochs, as data::Loader does, under its own key).
  // Each step asks data::SiteSchedule num_sites times which site a batch comes from:
  //  balance: so each step draws batch_per_site samples from every site (small sites repeat sooner);
  //  uniform: each step draws num_sites batches of batch_per_site, each from a site picked in proportion to
  //           its size (smooth weighted round-robin: exact shares over any sum(n) batches); a site picked k
  //           times gets one draw of k * batch_per_site samples, a site not picked sits the step out.
  Sampler(std::vector<int64_t> site_sizes, data::Sampling sampling, int64_t batch_per_site, uint64_t seed,
          int64_t crop, int64_t height, int64_t width, bool flip);

  std::vector<Draw> next_step();  // ordered by site
  int64_t steps() const { return steps_; }

  // Permutations, positions, epochs, credits and counters under `prefix`; load requires the same sizes.
  void save(Checkpoint& ckpt, const std::string& prefix) const;
  void load(const Checkpoint& ckpt, const std::string& prefix);

 private:
  std::vector<data::SiteEpochs> sites_;
  data::SiteSchedule schedule_;
  int64_t batch_, crop_, height_, width_;
  bool flip_;
  uint64_t seed_;
  int64_t steps_ = 0, draws_ = 0;
};

}  // namespace asyndgan::dist
