// A site's role: keeps its shard (real images and patient ids) and its discriminators private, uploads its
// training conditions once, and answers each Request with one D step and dL/dG(x) for the synthetic images.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include "data/shard.h"
#include "dist/channel.h"
#include "dist/options.h"
#include "dist/privacy_accountant.h"
#include "dist/step_graph.h"
#include "engine/io/checkpoint.h"
#include "engine/nn/module.h"
#include "engine/optim/adam.h"

namespace asyndgan::dist {

// What a site handled in one Site::serve_one.
enum class Served { request, start, set_lr, checkpoint, stop };

class Site {
 public:
  // secret: this site's own secret (dist/site_secret.h), from which it draws its samples' opaque keys; only
  // the site holds it, so the central node cannot map a key back to a slice. modalities: the image channels
  // this site trains; empty: those every training sample has. A named channel the shard lacks, or no modality
  // at all, is a ValueError. make_discriminator(in) builds each D, with initial weights drawn from a stream
  // keyed by options.seed and the site's name (the same in a simulation and in a deployment).
  Site(std::shared_ptr<data::Shard> shard, SiteChannel& channel, TrainOptions options,
       const DiscriminatorFactory& make_discriminator, uint64_t secret, std::vector<std::string> modalities = {});

  // Sends Hello (protocol, run contract, the site's own settings, the shape of its data) and the
  // ConditionUpload of its training samples.
  void connect();
  // Receives one message from the central node (waiting at most options.timeout) and handles it: a Request
  // gets a D step and a Gradient back; Control set_lr sets the discriminators' learning rate; Control
  // checkpoint calls on_checkpoint. A Failure from the central node (it refused this site) is an Error
  // carrying its reason.
  // A request whose losses or gradient come out NaN or infinite is not answered: the central node gets a Failure
  // naming the step, the site and the values, and serve_one throws NonFiniteError with the same words.
  Served serve_one();
  void serve() { while (serve_one() != Served::stop) {} }
  // Handles messages until a Request has been answered (the control messages before it included) or stop.
  Served serve_request();

  const std::string& name() const;
  int64_t num_samples() const;                          // training samples uploaded
  const std::vector<std::string>& modalities() const;   // those it trains, in image-channel order
  const std::vector<std::string>& condition_channels() const;
  const std::vector<std::string>& image_channels() const;  // all of the run's modalities
  std::vector<uint8_t> has_modality() const;            // per image channel
  int64_t num_discriminators() const;
  const SiteStats& last_stats() const { return last_; }
  double lr() const;  // the discriminators' learning rate now
  // The site's last answered batch, for its own sample grid (real images never leave the site): condition,
  // real and synthetic images as host f32 tensors [B, C, h, w]; undefined before the first request.
  struct LastBatch {
    Tensor condition, real, synthetic;
    int64_t step = -1;
  };
  LastBatch last_batch() const;

  // Called on Control checkpoint with its step: where a remote site saves its own state.
  std::function<void(int64_t step)> on_checkpoint;
  // One line for the site's own log: a request it refused in part or whole, a sample whose budget ran out.
  std::function<void(const std::string&)> on_event;

  // Its policy as resolved (sigma drawn from the budget when only that was given), and what it has spent: the
  // largest epsilon any sample has spent under the per-sample accounting (0 without noise), and the site-wide
  // bound that charges every answer to every sample (README, "Privacy": what each one assumes).
  const SitePolicy& policy() const { return o_.site; }
  double epsilon_spent() const { return ledger_ ? ledger_->max_epsilon() : 0.0; }
  double site_wide_epsilon() const { return ledger_ ? ledger_->site_wide_epsilon() : 0.0; }
  int64_t exhausted_samples() const { return ledger_ ? ledger_->exhausted() : 0; }
  int64_t refused_rows() const { return refused_rows_; }

  // Each discriminator ("<prefix>d<k>.") and its Adam ("<prefix>adam<k>."), the secret ("<prefix>secret"), the
  // privacy ledger ("<prefix>privacy.") and the answers per sample of the site's epoch: the site's state stays local. load_state refuses a state saved under another secret (the keys the central
  // node holds would no longer match).
  void save_state(Checkpoint& ckpt, const std::string& prefix) const;
  void load_state(const Checkpoint& ckpt, const std::string& prefix);

 private:
  Gradient answer(const Request& r);
  // The rows of r the site answers: 0 where it refuses (an unknown key, a crop outside the sample, pixels out of
  // range, a spent budget, too many questions about one sample this epoch), with the reasons in `why`.
  std::vector<uint8_t> admit(const Request& r, std::vector<int64_t>& positions, std::string& why);
  // The answered rows' gradient [B', C, h, w] made private as the policy says (per-sample clip, noise) and laid
  // into a host tensor of all B rows, zero where refused: a mean over the B rows asked about.
  Tensor sanitized(const Tensor& grad, const std::vector<uint8_t>& accepted);
  void discriminator_and_generator_loss();
  // Names the step and every statistic that is not finite, for the NonFiniteError answer() throws.
  std::string non_finite_report(int64_t step, const std::vector<double>& stats) const;

  std::shared_ptr<data::Shard> shard_;  // private: the only holder of real images
  SiteChannel& channel_;
  TrainOptions o_;
  uint64_t secret_;
  int64_t last_step_ = -1;
  std::vector<int64_t> samples_;        // shard indices of the training samples, by key position
  std::vector<uint64_t> keys_;
  std::unordered_map<uint64_t, int64_t> key_position_;  // key -> position in keys_ / samples_
  std::vector<int64_t> modality_index_; // image channels trained
  std::vector<std::string> modalities_;
  int64_t mask_channel_ = -1;
  std::vector<std::shared_ptr<nn::Module>> ds_;  // private: never leave the site
  std::vector<std::unique_ptr<optim::Adam>> adams_;
  SiteStats last_;
  // A step's device tensors, kept from step to step so a CUDA graph (options.cuda_graphs) can replay over them:
  // the staged inputs, and the gradient w.r.t. the synthetic images with the step's statistics.
  Tensor x_, real_, synthetic_, grad_out_, stats_out_;
  StepGraph graph_;
  int64_t graph_batch_ = -1;
  // The policy's state: per-sample privacy spent, answers per sample in this epoch of the site (n answered rows),
  // and the noise's generator, seeded from the OS so nobody outside the site can predict (and subtract) it.
  std::unique_ptr<PrivacyLedger> ledger_;
  std::vector<int64_t> epoch_answers_;
  int64_t epoch_rows_ = 0;
  int64_t refused_rows_ = 0;
  std::unique_ptr<Generator> noise_;
};

}  // namespace asyndgan::dist
