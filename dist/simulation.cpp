// The single-process run: shards opened here, sites served in turn between the central node's two halves.
#include "dist/simulation.h"
#include "dist/site_secret.h"
#include "engine/rng.h"

namespace asyndgan::dist {

Simulation::Simulation(SimulationSpec spec) : spec_(std::move(spec)) {
  if (spec_.shards.empty()) throw ValueError("Simulation: no shards (one per site)");
  if (!spec_.make_generator || !spec_.make_discriminator) throw ValueError("Simulation: a network factory is missing");
  if (spec_.modalities.size() > spec_.shards.size())
    throw ValueError(msg("Simulation: modalities for ", spec_.modalities.size(), " sites but ", spec_.shards.size(), " shards"));
  if (!spec_.site_secrets.empty() && spec_.site_secrets.size() != spec_.shards.size())
    throw ValueError(msg("Simulation: ", spec_.site_secrets.size(), " site secrets for ", spec_.shards.size(), " shards"));
  for (const auto& path : spec_.shards) shards_.push_back(data::Shard::open(path));
  const data::ShardHeader& h = shards_[0]->header();
  manual_seed(spec_.options.seed);
  auto g = spec_.make_generator(static_cast<int64_t>(h.condition_channels.size()), static_cast<int64_t>(h.image_channels.size()));
  const auto n = static_cast<int64_t>(shards_.size());
  channel_ = std::make_unique<InProcessChannel>(n, spec_.options.wire_dtype, spec_.carry);
  central_ = std::make_unique<Central>(std::move(g), channel_->central(), spec_.options);
  for (int64_t j = 0; j < n; ++j) {
    std::vector<std::string> mods;
    if (static_cast<size_t>(j) < spec_.modalities.size()) mods = spec_.modalities[static_cast<size_t>(j)];
    const uint64_t secret = spec_.site_secrets.empty() ? simulation_site_secret(spec_.options.seed, j)
                                                       : spec_.site_secrets[static_cast<size_t>(j)];
    sites_.push_back(std::make_unique<Site>(shards_[static_cast<size_t>(j)], channel_->site(j), spec_.options,
                                            spec_.make_discriminator, secret, std::move(mods)));
    sites_.back()->on_checkpoint = [this, j](int64_t) {
      if (saving_) sites_[static_cast<size_t>(j)]->save_state(*saving_, msg("site", j, "."));
    };
    sites_.back()->connect();
  }
  central_->connect();
  central_->start();
  for (auto& s : sites_) s->serve_one();  // the start message
}

Simulation::~Simulation() = default;

StepReport Simulation::step() {
  const Traffic before = channel_->central().traffic();
  central_->begin_step();
  for (int64_t j : central_->requested_sites()) sites_[static_cast<size_t>(j)]->serve_request();
  const StepResult r = central_->finish_step();
  return step_report(*central_, r, before, channel_->central().traffic());
}

StepReport step_report(const Central& central, const StepResult& r, const Traffic& before, const Traffic& after) {
  StepReport rep;
  rep.step = r.step;
  for (const SiteStep& s : r.sites) {
    SiteReport sr;
    sr.site = central.sites()[static_cast<size_t>(s.site)].site;
    sr.participated = s.participated;
    sr.samples = s.samples;
    sr.weight = s.weight;
    sr.stats = s.stats;
    sr.refused = s.refused;
    sr.stats_withheld = s.stats_withheld;
    sr.epsilon = s.epsilon;
    for (int t = 0; t < kMessageTypes; ++t)
      sr.bytes[static_cast<size_t>(t)] = after.bytes[static_cast<size_t>(s.site)][static_cast<size_t>(t)] -
                                         before.bytes[static_cast<size_t>(s.site)][static_cast<size_t>(t)];
    rep.sites.push_back(sr);
  }
  return rep;
}

int64_t Simulation::steps_done() const { return central_->steps_done(); }

void Simulation::save(Checkpoint& ckpt) {
  central_->save_state(ckpt, "central.");
  central_->request_checkpoint();
  saving_ = &ckpt;
  try {
    for (auto& s : sites_)
      while (s->serve_one() != Served::checkpoint) {}  // a set_lr may be queued before it
  } catch (...) {
    saving_ = nullptr;
    throw;
  }
  saving_ = nullptr;
}

void Simulation::load(const Checkpoint& ckpt) {
  central_->load_state(ckpt, "central.");
  for (size_t j = 0; j < sites_.size(); ++j) sites_[j]->load_state(ckpt, msg("site", j, "."));
}

void Simulation::set_lr(double lr_g, double lr_d) { central_->set_lr(lr_g, lr_d); }

int64_t Simulation::num_sites() const { return static_cast<int64_t>(sites_.size()); }
Central& Simulation::central() { return *central_; }
Site& Simulation::site(int64_t j) { return *sites_.at(static_cast<size_t>(j)); }
Traffic Simulation::traffic() const { return channel_->central().traffic(); }
const SimulationSpec& Simulation::spec() const { return spec_; }

}  // namespace asyndgan::dist
