// The central node's role: owns the generator G and its Adam, the sampler and the aggregation. It sees only
// the sites' condition maps (uploaded once, under opaque keys) and the gradients they return.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "dist/channel.h"
#include "dist/options.h"
#include "dist/sampler.h"
#include "dist/step_graph.h"
#include "engine/io/checkpoint.h"
#include "engine/nn/module.h"
#include "engine/optim/adam.h"
#include "engine/rng.h"

namespace asyndgan::dist {

// One site's part in a step, as the central node saw it.
struct SiteStep {
  int64_t site = 0;
  bool participated = false;
  int64_t samples = 0;   // b_j this step
  double weight = 0;     // the weight its gradient was scaled by
  SiteStats stats;       // as the site reported them (zeros when it withheld them)
  int64_t refused = 0;   // rows of its batch the site refused to answer about (its own policy)
  bool stats_withheld = false;  // the site kept its statistics (a privacy defence is on)
  double epsilon = 0;    // the most privacy any of its samples has spent, as the site reports it (0: no DP)
};

struct StepResult {
  int64_t step = 0;              // the step just taken, from 0
  std::vector<SiteStep> sites;   // one per site, in site order
};

// Why a site's Hello cannot join a run of `options` ("" when it can): another protocol, a run contract that
// differs (naming the keys), or sizes and channels unlike the sites already accepted (`accepted`).
std::string hello_refusal(const Hello& hello, const std::vector<Hello>& accepted, const TrainOptions& options);

class Central {
 public:
  // generator: in = condition channels, out = image channels of the sites. Every nn::Dropout inside it is
  // pointed at the central node's own Philox stream (seeded from options.seed), checkpointed with it.
  Central(std::shared_ptr<nn::Module> generator, CentralChannel& channel, TrainOptions options);

  // Receives every site's Hello and ConditionUpload (in site order), checks each Hello (hello_refusal), that
  // every modality has a site, and builds the sampler. A refused site gets a Failure naming the reason and its
  // link is closed; then ValueError naming the site.
  void connect();

  // One iteration in two halves, so a single thread can drive in-process sites between them:
  // begin_step draws the step's samples, runs G(x_j) for each participating site and sends the Requests
  // (the first call also sends Control start); finish_step receives each site's Gradient, calls backward on
  // every G(x_j) with weight_j * grad_j in one pass, and takes one Adam step.
  void start();  // sends Control start (with steps_done()) to every site; begin_step calls it when needed
  void begin_step();
  StepResult finish_step();
  StepResult step() { begin_step(); return finish_step(); }  // for sites that serve on their own
  void stop();  // sends Control stop to every site and closes its link
  std::vector<int64_t> requested_sites() const;  // sites sent a Request whose Gradient is still awaited

  // A site whose link ends (LinkLost) leaves the run: its pending gradient is not awaited, the step's update
  // weighs the sites that answered, and the sampler's draws for it are skipped. The run goes on while at least
  // `min_sites` sites remain (0: all of them); below that it waits up to `wait` for lost sites to come back,
  // then fails with an Error naming them. A lost site that connects again (CentralChannel::rejoined) must hold
  // the samples it held before; it rejoins between steps, with the current step and learning rate. Default: every
  // site required, no wait (a simulation's links never end).
  void set_membership(int64_t min_sites, Timeout wait);
  bool active(int64_t site) const { return active_.at(static_cast<size_t>(site)) != 0; }
  // One line per site lost, rejoined or refused on rejoining, as it happens (for the run's log).
  std::function<void(const std::string&)> on_event;

  int64_t steps_done() const { return steps_; }
  const std::vector<Hello>& sites() const { return hellos_; }
  double weight(int64_t site) const;  // pi_j among all sites (the weight when every site takes part)
  // G(x) in eval mode without recording (previews, sample grids): x and the result are host f32 tensors; the
  // training mode is restored after.
  Tensor preview(const Tensor& x);
  nn::Module& generator() { return *g_; }
  optim::Adam& optimizer() { return *adam_; }
  // The schedule's learning rates: G's Adam here, and lr_d to every site as a Control set_lr (sent only when
  // it changes), which each site applies to its discriminators' Adam before its next step.
  void set_lr(double lr_g, double lr_d);
  // Asks every site to save its own state (Control checkpoint at steps_done()); the central node's state is
  // save_state's.
  void request_checkpoint();
  // Site j's uploaded conditions at `positions` with crop/flip, as f32 [B, Cc, h, w] (what G is fed).
  Tensor conditions(int64_t site, const std::vector<int64_t>& positions, const std::vector<data::CropFlip>& aug) const;

  // G, its Adam, the dropout stream, the sampler and the step count, under `prefix` (e.g. "central.").
  // load_state after connect().
  void save_state(Checkpoint& ckpt, const std::string& prefix) const;
  void load_state(const Checkpoint& ckpt, const std::string& prefix);

 private:
  struct Pending {
    int64_t site;
    Tensor fake;   // G(x_j) with its graph
    int64_t samples;
  };
  void event(const std::string& line) const;
  void lose(int64_t site, const std::string& why);
  void admit_rejoined(Timeout wait);
  void rejoin(int64_t site);
  void require_enough_sites();
  bool send_control(int64_t site, const Control& c);  // false when the site is (or turns out) lost
  int64_t active_count() const;
  std::shared_ptr<nn::Module> g_;
  std::unique_ptr<optim::Adam> adam_;
  CentralChannel& channel_;
  TrainOptions o_;
  Generator dropout_gen_;
  std::vector<Hello> hellos_;
  std::vector<std::vector<uint64_t>> keys_;
  std::vector<Tensor> uploads_;  // u8 [n_j, Cc, H, W]
  std::unique_ptr<Sampler> sampler_;
  std::vector<Pending> pending_;
  // The device side of a step: conditions staged where G reads them, G's outputs and the sites' gradients.
  // They keep their storage from step to step, so the CUDA graphs that capture G's forward and the weighted
  // backward + Adam step (options.cuda_graphs) can replay over them.
  std::vector<Tensor> inputs_, fakes_, site_grads_;
  StepGraph forward_graph_, backward_graph_;
  int64_t steps_ = 0;
  bool started_ = false, in_step_ = false;
  double lr_d_sent_ = -1;  // the last set_lr sent to the sites (-1: none yet)
  std::vector<uint8_t> active_;  // per site: 1 while its link lives
  int64_t min_sites_ = 0;
  Timeout rejoin_wait_{0};
};

}  // namespace asyndgan::dist
