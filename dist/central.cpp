// The central node: G forward per participating site, Requests out, Gradients in, one weighted backward
// through every G(x_j) at once, one Adam step.
#include "dist/central.h"
#include <algorithm>
#include <cstring>
#include "engine/autograd.h"
#include "engine/io/checkpoint_state.h"
#include "engine/ops.h"
#include "dist/contract.h"
#include "dist/placement.h"
#include "models/factory.h"

namespace asyndgan::dist {

namespace {

constexpr uint64_t kDropoutTag = 0x64726f706f757421ull;

template <class M, class V>
M expect(V&& v, int64_t site, const char* want) {
  if (auto* m = std::get_if<M>(&v)) return std::move(*m);
  if (auto* f = std::get_if<Failure>(&v))
    throw Error(msg("central: site ", site, " failed and left the run: ", f->reason));
  throw ValueError(msg("central: site ", site, " sent a '", message_type_name(type_of(v)), "' message where a '", want,
                       "' was due: the site runs another protocol or lost its place"));
}

}  // namespace

Central::Central(std::shared_ptr<nn::Module> generator, CentralChannel& channel, TrainOptions options)
    : g_(std::move(generator)),
      channel_(channel),
      o_(std::move(options)),
      dropout_gen_(o_.seed ^ kDropoutTag),
      forward_graph_(o_.device, use_cuda_graphs(o_)),
      backward_graph_(o_.device, use_cuda_graphs(o_)) {
  if (!g_) throw ValueError("Central: the generator is null");
  models::set_dropout_generator(*g_, dropout_gen_);
  place_model(*g_, o_);  // before the optimizer, which keeps the parameters' tensors
  channel_.receive_on(o_.device);  // the sites' gradients land where G's backward reads them
  adam_ = std::make_unique<optim::Adam>(g_->parameters(), o_.adam_g);
}

std::string hello_refusal(const Hello& h, const std::vector<Hello>& accepted, const TrainOptions& o) {
  if (h.protocol != kProtocolVersion)
    return msg("site '", h.site, "' speaks protocol ", int(h.protocol), ", this central node ", int(kProtocolVersion),
               ": run the same asyndgan version everywhere");
  const Settings mine = run_contract(o);
  if (h.contract_hash != contract_hash(h.contract))
    return msg("site '", h.site, "' sent a run contract whose hash does not match its settings");
  const std::string diff = contract_differences(mine, h.contract);
  if (!diff.empty())
    return msg("site '", h.site, "' has another run contract: ", diff, "; give every role of the run the same settings");
  const auto Cc = static_cast<int64_t>(h.condition_channels.size());
  if (h.samples < 1 || h.height < 1 || h.width < 1 || h.has_modality.size() != h.image_channels.size())
    return msg("site '", h.site, "' announced ", h.samples, " samples of ", h.height, "x", h.width, ": nothing to train on");
  for (const Hello& f : accepted) {
    if (f.site == h.site) return msg("site '", h.site, "' is already in the run");
    if (h.height != f.height || h.width != f.width || h.condition_channels != f.condition_channels ||
        h.image_channels != f.image_channels)
      return msg("site '", h.site, "' holds ", h.height, "x", h.width, " samples with ", Cc, "+", h.image_channels.size(),
                 " channels, unlike site '", f.site, "': prepare all sites with the same options");
  }
  return "";
}

void Central::connect() {
  const int64_t n = channel_.num_sites();
  hellos_.clear();
  keys_.clear();
  uploads_.clear();
  for (int64_t j = 0; j < n; ++j) {
    Hello h = expect<Hello>(channel_.receive(j, o_.timeout), j, "hello");
    const std::string why = hello_refusal(h, hellos_, o_);
    if (!why.empty()) {
      channel_.send(j, Failure{why});
      channel_.close(j);
      throw ValueError(msg("central: refused site ", j, ": ", why));
    }
    ConditionUpload up = expect<ConditionUpload>(channel_.receive(j, o_.timeout), j, "conditions");
    const auto Cc = static_cast<int64_t>(h.condition_channels.size());
    if (static_cast<int64_t>(up.keys.size()) != h.samples || up.conditions.shape() != Shape{h.samples, Cc, h.height, h.width})
      throw ValueError(msg("central: site ", j, " ('", h.site, "') announced ", h.samples, " samples of ", Cc, "x", h.height, "x",
                           h.width, " but uploaded ", up.keys.size(), " keys and conditions ", shape_str(up.conditions.shape())));
    hellos_.push_back(std::move(h));
    keys_.push_back(std::move(up.keys));
    uploads_.push_back(std::move(up.conditions));
  }
  for (size_t m = 0; m < hellos_[0].image_channels.size(); ++m)
    if (std::none_of(hellos_.begin(), hellos_.end(), [&](const Hello& h) { return h.has_modality[m] != 0; }))
      throw ValueError(msg("central: no site has modality '", hellos_[0].image_channels[m],
                           "', so nothing would train that generator channel: drop it when preparing the data"));
  active_.assign(hellos_.size(), 1);
  std::vector<int64_t> sizes;
  for (const auto& h : hellos_) sizes.push_back(h.samples);
  sampler_ = std::make_unique<Sampler>(sizes, o_.sampling, o_.batch_per_site, o_.seed, o_.crop, hellos_[0].height,
                                       hellos_[0].width, o_.flip);
}

double Central::weight(int64_t site) const {
  if (hellos_.empty()) throw ValueError("Central::weight: connect() first");
  if (o_.weighting == Weighting::equal) return 1.0 / static_cast<double>(hellos_.size());
  int64_t total = 0;
  for (const auto& h : hellos_) total += h.samples;
  return static_cast<double>(hellos_.at(static_cast<size_t>(site)).samples) / static_cast<double>(total);
}

Tensor Central::conditions(int64_t site, const std::vector<int64_t>& positions, const std::vector<data::CropFlip>& aug) const {
  const Tensor& up = uploads_.at(static_cast<size_t>(site));
  const int64_t Cc = up.size(1), H = up.size(2), W = up.size(3);
  const int64_t h = o_.crop ? o_.crop : H, w = o_.crop ? o_.crop : W;
  const auto B = static_cast<int64_t>(positions.size());
  Tensor x = Tensor::empty({B, Cc, h, w});
  float* out = x.data<float>();
  const uint8_t* src = up.data<uint8_t>();
  for (int64_t b = 0; b < B; ++b) {
    const data::CropFlip& a = aug[static_cast<size_t>(b)];
    if (positions[b] < 0 || positions[b] >= up.size(0) || a.top < 0 || a.left < 0 || a.top + h > H || a.left + w > W)
      throw ValueError(msg("Central::conditions: sample ", positions[b], " with crop at (", a.top, ", ", a.left, ") is outside site ", site));
    for (int64_t c = 0; c < Cc; ++c)
      for (int64_t y = 0; y < h; ++y) {
        const uint8_t* row = src + ((positions[b] * Cc + c) * H + a.top + y) * W + a.left;
        float* o = out + ((b * Cc + c) * h + y) * w;
        // The shard's decoding (u8 / 255.0f) and mirroring, so G sees what the site's make_batch would give.
        for (int64_t i = 0; i < w; ++i) o[a.flip ? w - 1 - i : i] = static_cast<float>(row[i]) / 255.0f;
      }
  }
  return x;
}

Tensor Central::preview(const Tensor& x) {
  const bool was_training = g_->is_training();
  g_->eval();
  Tensor out;
  {
    NoGradGuard no_grad;
    out = to_loss_dtype(g_->forward(x.to(o_.device))).to(Device::cpu()).contiguous();
  }
  g_->train(was_training);
  return out;
}

void Central::set_lr(double lr_g, double lr_d) {
  adam_->set_lr(lr_g);
  if (lr_d == lr_d_sent_) return;
  for (int64_t j = 0; j < channel_.num_sites(); ++j) send_control(j, Control{ControlKind::set_lr, steps_, lr_d});
  lr_d_sent_ = lr_d;  // a site that rejoins later is sent it then
}

void Central::request_checkpoint() {
  if (in_step_) throw ValueError("Central::request_checkpoint: in the middle of a step (finish it first)");
  for (int64_t j = 0; j < channel_.num_sites(); ++j) send_control(j, Control{ControlKind::checkpoint, steps_});
}

void Central::start() {
  if (!sampler_) throw ValueError("Central::start: connect() first");
  for (int64_t j = 0; j < channel_.num_sites(); ++j) send_control(j, Control{ControlKind::start, steps_});
  started_ = true;
}

// ---- membership: sites lost and rejoined ----

void Central::set_membership(int64_t min_sites, Timeout wait) {
  if (min_sites < 0) throw ValueError(msg("Central::set_membership: min_sites = ", min_sites, " (0: all sites)"));
  min_sites_ = min_sites;
  rejoin_wait_ = wait;
}

void Central::event(const std::string& line) const {
  if (on_event) on_event(line);
}

int64_t Central::active_count() const { return std::count(active_.begin(), active_.end(), 1); }

bool Central::send_control(int64_t site, const Control& c) {
  if (!active(site)) return false;
  try {
    channel_.send(site, c);
    return true;
  } catch (const LinkLost& e) {
    lose(site, e.what());
    return false;
  }
}

void Central::lose(int64_t site, const std::string& why) {
  if (site < 0 || site >= static_cast<int64_t>(active_.size()) || !active(site)) return;
  active_[static_cast<size_t>(site)] = 0;  // its link has ended already: the channel told us
  // The step's shapes and weights change with its sites: captured graphs replay the old ones.
  forward_graph_.reset();
  backward_graph_.reset();
  event(msg("central: site '", hellos_[static_cast<size_t>(site)].site, "' left the run at step ", steps_, " (", why, "); ",
            active_count(), " of ", active_.size(), " sites go on"));
}

void Central::admit_rejoined(Timeout wait) {
  for (int64_t j : channel_.rejoined(wait)) rejoin(j);
}

void Central::rejoin(int64_t j) {
  const Hello& was = hellos_.at(static_cast<size_t>(j));
  try {
    Hello h = expect<Hello>(channel_.receive(j, o_.timeout), j, "hello");
    std::string why;
    if (h.site != was.site || h.samples != was.samples || h.height != was.height || h.width != was.width ||
        h.condition_channels != was.condition_channels || h.image_channels != was.image_channels ||
        h.has_modality != was.has_modality)
      why = msg("site '", was.site, "' came back holding ", h.samples, " samples of ", h.height, "x", h.width, " (modalities ",
                h.has_modality.size(), "), not the ", was.samples, " of ", was.height, "x", was.width,
                " it joined with: a site rejoins with the shard it started with");
    if (!why.empty()) {
      event(msg("central: refused the return of site '", was.site, "': ", why));
      channel_.send(j, Failure{why});
      channel_.close(j);
      return;
    }
    ConditionUpload up = expect<ConditionUpload>(channel_.receive(j, o_.timeout), j, "conditions");
    if (static_cast<int64_t>(up.keys.size()) != was.samples || up.conditions.shape() != uploads_[static_cast<size_t>(j)].shape())
      throw ValueError(msg("site '", was.site, "' uploaded ", up.keys.size(), " keys and conditions ", shape_str(up.conditions.shape()),
                           " on rejoining"));
    // Its keys come from its secret: the same ones unless it lost it, and then the new ones are what it knows.
    keys_[static_cast<size_t>(j)] = std::move(up.keys);
    uploads_[static_cast<size_t>(j)] = std::move(up.conditions);
    active_[static_cast<size_t>(j)] = 1;
    if (started_) send_control(j, Control{ControlKind::start, steps_});
    if (lr_d_sent_ > 0) send_control(j, Control{ControlKind::set_lr, steps_, lr_d_sent_});
    if (!active(j)) return;  // lost again while being told where the run stands
    forward_graph_.reset();
    backward_graph_.reset();
    event(msg("central: site '", was.site, "' rejoined the run at step ", steps_, "; ", active_count(), " of ", active_.size(),
              " sites take part"));
  } catch (const LinkLost& e) {
    event(msg("central: site '", was.site, "' was lost again while rejoining: ", e.what()));
    active_[static_cast<size_t>(j)] = 0;
  } catch (const std::exception& e) {
    event(msg("central: refused the return of site '", was.site, "': ", e.what()));
    active_[static_cast<size_t>(j)] = 0;
    try {
      channel_.send(j, Failure{e.what()});
    } catch (const std::exception&) {
      // gone already; refused either way
    }
    channel_.close(j);
  }
}

void Central::require_enough_sites() {
  const auto n = static_cast<int64_t>(active_.size());
  const int64_t need = min_sites_ > 0 ? std::min(min_sites_, n) : n;
  if (active_count() >= need) return;
  const auto deadline = std::chrono::steady_clock::now() + rejoin_wait_;
  event(msg("central: ", active_count(), " of ", n, " sites remain, fewer than the ", need, " the run needs; waiting up to ",
            rejoin_wait_.count() / 1000.0, " s (dist.reconnect_s) for lost sites to rejoin"));
  while (active_count() < need) {
    const auto left = std::chrono::duration_cast<Timeout>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      std::string lost;
      for (size_t j = 0; j < active_.size(); ++j)
        if (!active_[j]) lost += (lost.empty() ? "'" : ", '") + hellos_[j].site + "'";
      throw Error(msg("central: site(s) ", lost, " left the run and did not rejoin within ", rejoin_wait_.count() / 1000.0,
                      " s (dist.reconnect_s); ", active_count(), " of ", n, " remain, fewer than the ", need,
                      " the run needs (dist.min_sites", min_sites_ > 0 ? "" : " = 0: all", "). Restart the lost sites and "
                      "the central node with --resume"));
    }
    admit_rejoined(left);
  }
}

void Central::begin_step() {
  if (!sampler_) throw ValueError("Central::begin_step: connect() first");
  if (in_step_) throw ValueError("Central::begin_step: the previous step was not finished (call finish_step)");
  admit_rejoined(Timeout{0});
  require_enough_sites();
  if (!started_) start();
  g_->train();
  pending_.clear();
  std::vector<Draw> draws = sampler_->next_step();
  std::erase_if(draws, [&](const Draw& d) { return !active(d.site); });
  inputs_.resize(draws.size());
  for (size_t i = 0; i < draws.size(); ++i)
    stage(inputs_[i], conditions(draws[i].site, draws[i].positions, draws[i].aug), o_.device);
  // A generator whose layers treat each sample alone (instance norm) makes every site's images in one pass over
  // the batches side by side: the same images as one pass per site, with products as wide as all of them (the
  // U-Net's inner layers read their weights once, not once per site). Dropout then draws its masks layer by layer
  // for all sites rather than site by site: other masks, the same distribution. Batch norm in training
  // normalizes each site's batch on its own, as the paper's G(x_j): one pass per site.
  forward_graph_.run([&] {
    fakes_.clear();
    if (inputs_.size() > 1 && !nn::batch_coupled(*g_)) {
      const Tensor all = to_loss_dtype(g_->forward(cat(inputs_, 0)));
      int64_t first = 0;
      for (const Tensor& x : inputs_) {
        fakes_.push_back(all.narrow(0, first, x.size(0)));
        first += x.size(0);
      }
    } else {
      for (const Tensor& x : inputs_) fakes_.push_back(to_loss_dtype(g_->forward(x)));
    }
  });
  const auto Cm = static_cast<int64_t>(hellos_[0].image_channels.size());
  for (size_t i = 0; i < draws.size(); ++i) {
    const Draw& d = draws[i];
    const Tensor& x = inputs_[i];
    const Tensor& fake = fakes_[i];
    if (fake.dim() != 4 || fake.size(0) != x.size(0) || fake.size(1) != Cm || fake.size(2) != x.size(2) || fake.size(3) != x.size(3))
      throw ShapeError(msg("central: the generator maps ", shape_str(x.shape()), " to ", shape_str(fake.shape()), "; expected [",
                           x.size(0), ", ", Cm, ", ", x.size(2), ", ", x.size(3), "] (one channel per modality)"));
    Request r;
    r.step = steps_;
    r.crop = o_.crop;
    for (int64_t p : d.positions) r.keys.push_back(keys_[static_cast<size_t>(d.site)][static_cast<size_t>(p)]);
    r.aug = d.aug;
    r.synthetic = fake.detach();  // the channel moves it from the device
    try {
      channel_.send(d.site, r);
    } catch (const LinkLost& e) {
      lose(d.site, e.what());
      continue;
    }
    pending_.push_back({d.site, fake, static_cast<int64_t>(d.positions.size())});
  }
  in_step_ = true;
}

std::vector<int64_t> Central::requested_sites() const {
  std::vector<int64_t> out;
  if (in_step_)
    for (const auto& p : pending_) out.push_back(p.site);
  return out;
}

StepResult Central::finish_step() {
  if (!in_step_) throw ValueError("Central::finish_step: no step begun (call begin_step)");
  in_step_ = false;
  StepResult res;
  res.step = steps_;
  res.sites.resize(hellos_.size());
  for (size_t j = 0; j < hellos_.size(); ++j) res.sites[j].site = static_cast<int64_t>(j);
  site_grads_.resize(pending_.size());
  // The gradients arrive in whatever order the sites finish; each goes to its own slot, and the backward below
  // runs in the sampler's order, so the update does not depend on who answered first.
  std::vector<int64_t> slot(hellos_.size(), -1);
  for (size_t i = 0; i < pending_.size(); ++i) slot[static_cast<size_t>(pending_[i].site)] = static_cast<int64_t>(i);
  std::vector<uint8_t> answered(pending_.size(), 0);
  for (size_t waiting = pending_.size(); waiting > 0;) {
    Incoming in;
    try {
      in = channel_.receive_any(o_.timeout);
    } catch (const LinkLost& e) {
      lose(e.site, e.what());
      if (e.site >= 0 && e.site < static_cast<int64_t>(slot.size()) && slot[static_cast<size_t>(e.site)] >= 0) {
        slot[static_cast<size_t>(e.site)] = -1;
        --waiting;
      }
      continue;
    }
    const int64_t i = in.site >= 0 && in.site < static_cast<int64_t>(slot.size()) ? slot[static_cast<size_t>(in.site)] : -1;
    if (i < 0)
      throw ValueError(msg("central: site ", in.site, " sent a '", message_type_name(type_of(in.message)),
                           "' message while no request of step ", steps_, " awaits its answer"));
    slot[static_cast<size_t>(in.site)] = -1;
    --waiting;
    const Pending& p = pending_[static_cast<size_t>(i)];
    Gradient g = expect<Gradient>(std::move(in.message), p.site, "gradient");
    if (g.step != steps_ || g.samples != p.samples || g.grad.shape() != p.fake.shape())
      throw ValueError(msg("central: site ", p.site, " answered step ", g.step, " with ", g.samples, " samples and a gradient of ",
                           shape_str(g.grad.shape()), "; expected step ", steps_, ", ", p.samples, " samples, ",
                           shape_str(p.fake.shape())));
    SiteStep& s = res.sites[static_cast<size_t>(p.site)];
    s.samples = p.samples;
    s.refused = p.samples - g.answered();
    s.stats_withheld = g.stats_withheld;
    s.epsilon = g.epsilon;
    if (s.refused > 0)
      event(msg("central: site '", hellos_[static_cast<size_t>(p.site)].site, "' refused ", s.refused, " of ", p.samples,
                " rows of step ", steps_, ": ", g.refusal.empty() ? "(no reason given)" : g.refusal));
    // A site that answered about none of its rows sits the step out: the other sites' weights are renormalized.
    if (s.refused == p.samples) continue;
    s.participated = true;
    s.stats = g.stats;
    stage(site_grads_[static_cast<size_t>(i)], g.grad, o_.device);
    answered[static_cast<size_t>(i)] = 1;
  }
  // Weights over the sites that answered (all the step's sites unless one was lost on the way).
  int64_t total = 0, count = 0;
  for (size_t i = 0; i < pending_.size(); ++i)
    if (answered[i]) {
      total += hellos_[static_cast<size_t>(pending_[i].site)].samples;
      ++count;
    }
  std::vector<double> weights(pending_.size(), 0.0);
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (!answered[i]) continue;
    const int64_t site = pending_[i].site;
    weights[i] = o_.weighting == Weighting::equal
                     ? 1.0 / static_cast<double>(count)
                     : static_cast<double>(hellos_[static_cast<size_t>(site)].samples) / static_cast<double>(total);
    res.sites[static_cast<size_t>(site)].weight = weights[i];
  }
  // With graphs the weights are captured once: balance sampling keeps them the same every step, and a change of
  // the run's sites resets the graph (lose, rejoin).
  if (count > 0)
    backward_graph_.run([&] {
      std::vector<Tensor> roots, grads;
      for (size_t i = 0; i < pending_.size(); ++i) {
        if (!answered[i]) continue;
        roots.push_back(pending_[i].fake);
        grads.push_back(mul_scalar(site_grads_[i], weights[i]));
      }
      adam_->zero_grad();
      backward(roots, grads);
      adam_->step();
    });
  pending_.clear();
  ++steps_;
  require_enough_sites();
  return res;
}

void Central::stop() {
  for (int64_t j = 0; j < channel_.num_sites(); ++j) {
    send_control(j, Control{ControlKind::stop, steps_});
    channel_.close(j);  // the stop goes out first; the site's end closing then is the run's end, not a failure
  }
}

void Central::save_state(Checkpoint& ckpt, const std::string& prefix) const {
  if (in_step_) throw ValueError("Central::save_state: in the middle of a step (finish it first)");
  put_module(ckpt, prefix + "g.", *g_);
  put_optimizer(ckpt, prefix + "adam.", *adam_);
  put_generator(ckpt, prefix + "dropout", dropout_gen_);
  put_int(ckpt, prefix + "step", steps_);
  if (sampler_) sampler_->save(ckpt, prefix + "sampler.");
}

void Central::load_state(const Checkpoint& ckpt, const std::string& prefix) {
  if (!sampler_) throw ValueError("Central::load_state: connect() first (the sampler needs the sites' sizes)");
  get_module(ckpt, prefix + "g.", *g_);
  get_optimizer(ckpt, prefix + "adam.", *adam_);
  get_generator(ckpt, prefix + "dropout", dropout_gen_);
  sampler_->load(ckpt, prefix + "sampler.");
  steps_ = get_int(ckpt, prefix + "step");
  // The optimizer's state tensors were replaced: graphs captured over the old ones must be captured anew.
  forward_graph_.reset();
  backward_graph_.reset();
}

}  // namespace asyndgan::dist
