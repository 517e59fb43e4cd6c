// The central node's sampler: per-site Philox epochs (the Loader's shuffle), balance or smooth weighted
// round-robin site choice, and crop/flip from data::crop_flip so a site can be sent the exact numbers.
#include "dist/sampler.h"
#include <algorithm>
#include "engine/io/checkpoint_state.h"
#include "engine/rng.h"

namespace asyndgan::dist {

namespace {

constexpr uint64_t kShuffleTag = 0x63656e7472616c21ull;  // distinct from the sites' key stream

}  // namespace

Sampler::Sampler(std::vector<int64_t> site_sizes, data::Sampling sampling, int64_t batch_per_site, uint64_t seed,
                 int64_t crop, int64_t height, int64_t width, bool flip)
    : sampling_(sampling), batch_(batch_per_site), crop_(crop), height_(height), width_(width), flip_(flip), seed_(seed) {
  if (site_sizes.empty()) throw ValueError("Sampler: no sites");
  if (batch_per_site < 1) throw ValueError(msg("Sampler: batch_per_site must be at least 1, got ", batch_per_site));
  if (crop < 0 || crop > height || crop > width)
    throw ValueError(msg("Sampler: crop ", crop, " does not fit the ", height, "x", width, " samples"));
  for (size_t s = 0; s < site_sizes.size(); ++s) {
    if (site_sizes[s] < 1) throw ValueError(msg("Sampler: site ", s, " has no samples"));
    SiteState st;
    st.size = site_sizes[s];
    sites_.push_back(st);
    total_ += site_sizes[s];
  }
}

void Sampler::start_epoch(size_t site) {
  SiteState& s = sites_[site];
  s.order.resize(static_cast<size_t>(s.size));
  for (int64_t i = 0; i < s.size; ++i) s.order[static_cast<size_t>(i)] = i;
  Philox4 block{};
  for (size_t i = s.order.size(); i-- > 1;) {  // Fisher-Yates from the Philox stream of (site, epoch)
    const size_t k = s.order.size() - 1 - i;
    if (k % 4 == 0) block = keyed_block(seed_, kShuffleTag, k / 4, (static_cast<uint64_t>(site) << 32) | (static_cast<uint64_t>(s.epoch) & 0xffffffffu));
    std::swap(s.order[i], s.order[block.v[k % 4] % (i + 1)]);
  }
  ++s.epoch;
  s.pos = 0;
}

size_t Sampler::pick_uniform() {
  size_t best = 0;
  for (size_t s = 0; s < sites_.size(); ++s) {
    sites_[s].credit += sites_[s].size;
    if (sites_[s].credit > sites_[best].credit) best = s;
  }
  sites_[best].credit -= total_;
  return best;
}

std::vector<Draw> Sampler::next_step() {
  std::vector<int64_t> batches(sites_.size(), 0);
  if (sampling_ == data::Sampling::balance) {
    std::fill(batches.begin(), batches.end(), 1);
  } else {
    for (size_t k = 0; k < sites_.size(); ++k) ++batches[pick_uniform()];
  }
  std::vector<Draw> out;
  for (size_t s = 0; s < sites_.size(); ++s) {
    if (batches[s] == 0) continue;
    Draw d;
    d.site = static_cast<int64_t>(s);
    SiteState& st = sites_[s];
    for (int64_t j = 0; j < batches[s] * batch_; ++j) {
      if (st.order.empty() || st.pos == static_cast<int64_t>(st.order.size())) start_epoch(s);
      const int64_t p = st.order[static_cast<size_t>(st.pos++)];
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
    const SiteState& st = sites_[s];
    put_int(ckpt, p + "size", st.size);
    put_int(ckpt, p + "pos", st.pos);
    put_int(ckpt, p + "epoch", st.epoch);
    put_int(ckpt, p + "credit", st.credit);
    ckpt.tensors[p + "order"] = Tensor::from_vector<int64_t>(st.order, {static_cast<int64_t>(st.order.size())});
  }
}

void Sampler::load(const Checkpoint& ckpt, const std::string& prefix) {
  if (get_int(ckpt, prefix + "sites") != static_cast<int64_t>(sites_.size()))
    throw ValueError(msg("checkpoint sampler '", prefix, "' has ", get_int(ckpt, prefix + "sites"), " sites, this run ",
                         sites_.size(), ": resume with the same shards"));
  std::vector<SiteState> sites = sites_;
  for (size_t s = 0; s < sites.size(); ++s) {
    const std::string p = msg(prefix, "site", s, ".");
    SiteState& st = sites[s];
    if (get_int(ckpt, p + "size") != st.size)
      throw ValueError(msg("checkpoint sampler site ", s, " had ", get_int(ckpt, p + "size"), " samples, this run ", st.size,
                           ": resume with the same shards"));
    st.pos = get_int(ckpt, p + "pos");
    st.epoch = get_int(ckpt, p + "epoch");
    st.credit = get_int(ckpt, p + "credit");
    auto it = ckpt.tensors.find(p + "order");
    if (it == ckpt.tensors.end()) throw FormatError(msg("checkpoint has no tensor '", p, "order'"));
    st.order = it->second.to_vector<int64_t>();
    if (st.pos < 0 || st.pos > static_cast<int64_t>(st.order.size()) ||
        std::any_of(st.order.begin(), st.order.end(), [&](int64_t v) { return v < 0 || v >= st.size; }))
      throw FormatError(msg("checkpoint sampler site ", s, " state is inconsistent"));
  }
  sites_ = std::move(sites);
  steps_ = get_int(ckpt, prefix + "steps");
  draws_ = get_int(ckpt, prefix + "draws");
}

}  // namespace asyndgan::dist
