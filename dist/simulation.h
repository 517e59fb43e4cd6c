// A whole AsynDGAN run in one process: the central node and N sites joined by an in-process channel, built
// from shard paths and options, so the trainer CLI only parses, loops, logs and checkpoints. Everything between
// the roles goes through the channel, as in a deployment: the learning rates and checkpoint requests travel as
// control messages, and each site saves its own state when asked.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "data/shard.h"
#include "dist/central.h"
#include "dist/in_process_channel.h"
#include "dist/site.h"

namespace asyndgan::dist {

struct SimulationSpec {
  std::vector<std::string> shards;                   // one per site
  std::vector<std::vector<std::string>> modalities;  // per site (empty or missing entry: automatic)
  TrainOptions options;
  GeneratorFactory make_generator;                   // (condition channels, image channels)
  DiscriminatorFactory make_discriminator;
  std::vector<uint64_t> site_secrets;                // per site; empty: simulation_site_secret(options.seed, j)
  // What the in-process channel carries: encoded messages (the deployment's bytes), or the messages as decoded
  // (same results, no host round trip on a GPU). The trainer carries tensors on a GPU.
  InProcessChannel::Carry carry = InProcessChannel::Carry::bytes;
};

struct SiteReport {
  std::string site;
  bool participated = false;
  int64_t samples = 0;      // this step
  double weight = 0;
  SiteStats stats;
  int64_t refused = 0;          // as SiteStep
  bool stats_withheld = false;
  double epsilon = 0;
  std::array<uint64_t, kMessageTypes> bytes{};  // this step, per message type (both directions)
};

struct StepReport {
  int64_t step = 0;
  std::vector<SiteReport> sites;
};

// A step as the central node saw it, with the bytes each site's link carried during it (after - before).
StepReport step_report(const Central& central, const StepResult& result, const Traffic& before, const Traffic& after);

class Simulation {
 public:
  // Opens the shards, seeds default_generator() with options.seed, builds G, then each site (its
  // discriminators' initial weights from options.seed and its name), connects every site.
  explicit Simulation(SimulationSpec spec);
  ~Simulation();

  StepReport step();
  int64_t steps_done() const;

  // The central node's state under "central.", and each site's own, saved by the site on a Control
  // checkpoint, under "site<j>."; load into a Simulation of the same spec continues bit-identically.
  void save(Checkpoint& ckpt);
  void load(const Checkpoint& ckpt);
  void set_lr(double lr_g, double lr_d);  // a schedule's step: G's Adam, and a Control set_lr to every site

  int64_t num_sites() const;
  Central& central();
  Site& site(int64_t j);  // the hospitals' side of the run, for what each writes locally (its sample grid)
  Traffic traffic() const;  // cumulative, as the central end counted it
  const SimulationSpec& spec() const;

 private:
  SimulationSpec spec_;
  std::vector<std::shared_ptr<data::Shard>> shards_;
  std::unique_ptr<InProcessChannel> channel_;
  std::unique_ptr<Central> central_;
  std::vector<std::unique_ptr<Site>> sites_;
  Checkpoint* saving_ = nullptr;  // where the sites' on_checkpoint write during save()
};

}  // namespace asyndgan::dist
