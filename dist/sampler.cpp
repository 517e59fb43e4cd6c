// The central node's sampler: the Loader's per-site Philox epochs and site schedule (data/sampler.h) under the
// central node's own key, a step's batches gathered per site, and crop/flip from data::crop_flip so a site can be
// sent the exact numbers.
#include "dist/sampler.h"
#include <algorithm>
#include "engine/io/checkpoint_state.h"

namespace asyndgan::dist {

namespace {

constexpr uint64_t kShuffleTag = 0x63656e7472616c21ull;  // distinct from the sites' key stream and the Loader's

const std::vector<int64_t>& checked_sizes(const std::vector<int64_t>& sizes) {
  if (sizes.empty()) throw ValueError("Sampler: no sites");
  for (size_t s = 0; s < sizes.size(); ++s)
    if (sizes[s] < 1) throw ValueError(msg("Sampler: site ", s, " has no samples"));
  return sizes;
}

std::vector<int64_t> positions(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  return p;
}

}  // namespace

Sampler::Sampler(std::vector<int64_t> site_sizes, data::Sampling sampling, int64_t batch_per_site, uint64_t seed,
                 int64_t crop, int64_t height, int64_t width, bool flip)
    : schedule_(sampling, checked_sizes(site_sizes)), batch_(batch_per_site), crop_(crop), height_(height),
      width_(width), flip_(flip), seed_(seed) {
  if (batch_per_site < 1) throw ValueError(msg("Sampler: batch_per_site must be at least 1, got ", batch_per_site));
  if (crop < 0 || crop > height || crop > width)
    throw ValueError(msg("Sampler: crop ", crop, " does not fit the ", height, "x", width, " samples"));
  for (size_t s = 0; s < site_sizes.size(); ++s) sites_.emplace_back(positions(site_sizes[s]), seed, kShuffleTag, s);
}

std::vector<Draw> Sampler::next_step() {
  std::vector<int64_t> batches(sites_.size(), 0);
  for (size_t k = 0; k < sites_.size(); ++k) ++batches[schedule_.next()];
  std::vector<Draw> out;
  for (size_t s = 0; s < sites_.size(); ++s) {
    if (batches[s] == 0) continue;
    Draw d;
    d.site = static_cast<int64_t>(s);
    for (int64_t j = 0; j < batches[s] * batch_; ++j) {
      const int64_t p = sites_[s].next();
      d.positions.push_back(p);
      d.aug.push_back(data::crop_flip(seed_, static_cast<uint64_t>(draws_++), p, crop_, height_, width_, flip_));
    }
    out.push_back(std::move(d));
  }
  ++steps_;
  return out;
}

void Sampler::save(Checkpoint& ckpt, const std::string& prefix) const {
  put_int(ckpt, prefix + "sites", static_cast<int64_t>(sites_.size()));
  put_int(ckpt, prefix + "steps", steps_);
  put_int(ckpt, prefix + "draws", draws_);
  for (size_t s = 0; s < sites_.size(); ++s) {
    const std::string p = msg(prefix, "site", s, ".");
    const data::SiteEpochs& site = sites_[s];
    put_int(ckpt, p + "size", static_cast<int64_t>(site.size()));
    put_int(ckpt, p + "pos", static_cast<int64_t>(site.position()));
    put_int(ckpt, p + "epoch", static_cast<int64_t>(site.epoch()));
    put_int(ckpt, p + "credit", schedule_.credits()[s]);
    ckpt.tensors[p + "order"] = Tensor::from_vector<int64_t>(site.order(), {static_cast<int64_t>(site.order().size())});
  }
}

void Sampler::load(const Checkpoint& ckpt, const std::string& prefix) {
  if (get_int(ckpt, prefix + "sites") != static_cast<int64_t>(sites_.size()))
    throw ValueError(msg("checkpoint sampler '", prefix, "' has ", get_int(ckpt, prefix + "sites"), " sites, this run ",
                         sites_.size(), ": resume with the same shards"));
  std::vector<data::SiteEpochs> sites = sites_;
  std::vector<int64_t> credits;
  for (size_t s = 0; s < sites.size(); ++s) {
    const std::string p = msg(prefix, "site", s, ".");
    const int64_t size = static_cast<int64_t>(sites[s].size());
    if (get_int(ckpt, p + "size") != size)
      throw ValueError(msg("checkpoint sampler site ", s, " had ", get_int(ckpt, p + "size"), " samples, this run ", size,
                           ": resume with the same shards"));
    const int64_t pos = get_int(ckpt, p + "pos"), epoch = get_int(ckpt, p + "epoch");
    credits.push_back(get_int(ckpt, p + "credit"));
    auto it = ckpt.tensors.find(p + "order");
    if (it == ckpt.tensors.end()) throw FormatError(msg("checkpoint has no tensor '", p, "order'"));
    try {
      if (pos < 0 || epoch < 0) throw FormatError(msg("position ", pos, ", epoch ", epoch));
      sites[s].restore(it->second.to_vector<int64_t>(), static_cast<size_t>(pos), static_cast<uint64_t>(epoch));
    } catch (const FormatError& e) {
      throw FormatError(msg("checkpoint sampler site ", s, " state is inconsistent: ", e.what()));
    }
  }
  steps_ = get_int(ckpt, prefix + "steps");
  draws_ = get_int(ckpt, prefix + "draws");
  // Each step scheduled one batch per site: balance's cycle is back at site 0 between steps.
  schedule_.restore(static_cast<uint64_t>(steps_) * sites.size(), std::move(credits));
  sites_ = std::move(sites);
}

}  // namespace asyndgan::dist
