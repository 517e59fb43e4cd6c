// A site: opaque keys for its training samples, one discriminator step per request, and the gradient of its
// generator loss with respect to the synthetic images only.
#include "dist/site.h"
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <unordered_map>
#include "dist/contract.h"
#include "dist/placement.h"
#include "engine/io/checkpoint_state.h"
#include "engine/ops.h"
#include "engine/rng.h"

namespace asyndgan::dist {

namespace {

constexpr uint64_t kKeyTag = 0x736974656b657921ull;
constexpr uint64_t kInitTag = 0x73697465696e6974ull;

// A random key per sample from the site's secret: nothing about the subject or slice order can be read from it
// by anyone without the secret.
uint64_t draw_key(uint64_t secret, uint64_t i) {
  const Philox4 r = keyed_block(secret, kKeyTag, i, 0);
  return (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
}

// The seed of a site's initial discriminator weights: the run's seed and the site's name (FNV-1a), so the site
// process of a deployment draws what the same site draws in a simulation, whatever the other sites are.
uint64_t init_seed(uint64_t seed, const std::string& site) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : site) h = (h ^ c) * 0x100000001b3ull;
  const Philox4 r = keyed_block(seed, kInitTag, h, 0);
  return (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
}

// Channels `idx` of x [B, C, h, w] (one: a view; several: concatenated).
Tensor channels(const Tensor& x, const std::vector<int64_t>& idx) {
  if (idx.size() == 1) return x.narrow(1, idx[0], 1);
  std::vector<Tensor> parts;
  for (int64_t c : idx) parts.push_back(x.narrow(1, c, 1));
  return cat(parts, 1);
}

// Mean D output as a probability (vanilla) or a score (LSGAN), 0-D and still on the device.
Tensor mean_output(const Tensor& pred, models::GanMode mode) {
  const Tensor p = pred.detach();
  return mean(mode == models::GanMode::vanilla ? sigmoid(p) : p);
}

// The 0-D statistics of a step gathered into one f64 vector on their device, in the order they were added, so
// the host reads them in one transfer (one synchronization on a GPU, not one per value).
class StepScalars {
 public:
  void add(const Tensor& scalar) { parts_.push_back(scalar.detach().to(DType::f64).view({1})); }
  Tensor gather() const { return cat(parts_, 0); }

 private:
  std::vector<Tensor> parts_;
};

}  // namespace

Site::Site(std::shared_ptr<data::Shard> shard, SiteChannel& channel, TrainOptions options,
           const DiscriminatorFactory& make_discriminator, uint64_t secret, std::vector<std::string> modalities)
    : shard_(std::move(shard)),
      channel_(channel),
      o_(std::move(options)),
      secret_(secret),
      graph_(o_.device, use_cuda_graphs(o_)) {
  if (!shard_) throw ValueError("Site: the shard is null");
  o_.site = resolve_site_policy(o_.site, msg("site '", shard_->header().site, "'"));
  channel_.receive_on(o_.device);  // G's synthetic images land where the discriminators read them
  const data::ShardHeader& h = shard_->header();
  const std::string where = msg("site '", h.site, "' ('", shard_->path(), "')");
  for (size_t i = 0; i < h.samples.size(); ++i)
    if (h.samples[i].split == data::Split::train) samples_.push_back(static_cast<int64_t>(i));
  if (samples_.empty()) throw ValueError(msg(where, " has no training samples: prepare it with a train split"));

  const auto Cm = static_cast<int64_t>(h.image_channels.size());
  if (modalities.empty()) {
    for (int64_t m = 0; m < Cm; ++m)
      if (std::all_of(samples_.begin(), samples_.end(), [&](int64_t i) { return (h.samples[static_cast<size_t>(i)].available >> m) & 1u; }))
        modality_index_.push_back(m);
    if (modality_index_.empty())
      throw ValueError(msg(where, ": no modality is present in all its training samples; name the site's modalities explicitly"));
  } else {
    for (int64_t m = 0; m < Cm; ++m)
      if (std::find(modalities.begin(), modalities.end(), h.image_channels[static_cast<size_t>(m)]) != modalities.end())
        modality_index_.push_back(m);
    for (const auto& name : modalities)
      if (std::find(h.image_channels.begin(), h.image_channels.end(), name) == h.image_channels.end())
        throw ValueError(msg(where, ": modality '", name, "' is not one of its image channels"));
  }
  for (int64_t m : modality_index_) modalities_.push_back(h.image_channels[static_cast<size_t>(m)]);
  if (o_.l1_brain_mask) {
    auto it = std::find(h.condition_channels.begin(), h.condition_channels.end(), o_.mask_channel);
    if (it == h.condition_channels.end())
      throw ValueError(msg(where, ": l1_brain_mask needs condition channel '", o_.mask_channel, "', which the shard lacks"));
    mask_channel_ = it - h.condition_channels.begin();
  }

  // Keys: random per sample; the upload goes in key order, so its order says nothing about slice order.
  std::vector<std::pair<uint64_t, int64_t>> keyed;
  std::unordered_map<uint64_t, int> seen;
  uint64_t draw = 0;
  for (int64_t i : samples_) {
    uint64_t k;
    do k = draw_key(secret_, draw++); while (seen.count(k));
    seen[k] = 1;
    keyed.emplace_back(k, i);
  }
  std::sort(keyed.begin(), keyed.end());
  samples_.clear();
  for (const auto& [k, i] : keyed) {
    key_position_.emplace(k, static_cast<int64_t>(keys_.size()));
    keys_.push_back(k);
    samples_.push_back(i);
  }
  epoch_answers_.assign(samples_.size(), 0);
  // A batch larger than the site holds repeats its samples (the central node walks them ceil(B / n) times per batch):
  // the limit leaves room for that, and one more where the central node's epochs and the site's do not line up.
  int64_t& max_q = o_.site.max_queries_per_sample;
  if (max_q > 0 && o_.batch_per_site > num_samples()) max_q = std::max(max_q, (o_.batch_per_site + num_samples() - 1) / num_samples() + 1);
  const PrivacyOptions& privacy = o_.site.privacy;
  if (privacy.noisy()) {
    ledger_ = std::make_unique<PrivacyLedger>(num_samples(), gaussian_rho(privacy.sigma), privacy.epsilon, privacy.delta);
    std::random_device os;  // the OS's entropy: the central node must not be able to predict the noise
    noise_ = std::make_unique<Generator>((static_cast<uint64_t>(os()) << 32) ^ os());
  }

  if (!make_discriminator) throw ValueError(msg(where, ": no discriminator factory"));
  const auto Cc = static_cast<int64_t>(h.condition_channels.size());
  manual_seed(init_seed(o_.seed, h.site));
  if (o_.discriminators == DiscriminatorLayout::per_modality) {
    for (size_t k = 0; k < modality_index_.size(); ++k) ds_.push_back(make_discriminator(Cc + 1));
  } else {
    ds_.push_back(make_discriminator(Cc + static_cast<int64_t>(modality_index_.size())));
  }
  for (const auto& d : ds_) {
    if (!d) throw ValueError(msg(where, ": the discriminator factory returned null"));
    place_model(*d, o_);  // before the optimizer, which keeps the parameters' tensors
    adams_.push_back(std::make_unique<optim::Adam>(d->parameters(), o_.adam_d));
  }
}

const std::string& Site::name() const { return shard_->header().site; }
int64_t Site::num_samples() const { return static_cast<int64_t>(samples_.size()); }
const std::vector<std::string>& Site::modalities() const { return modalities_; }
const std::vector<std::string>& Site::condition_channels() const { return shard_->header().condition_channels; }
const std::vector<std::string>& Site::image_channels() const { return shard_->header().image_channels; }
int64_t Site::num_discriminators() const { return static_cast<int64_t>(ds_.size()); }

std::vector<uint8_t> Site::has_modality() const {
  std::vector<uint8_t> has(shard_->header().image_channels.size(), 0);
  for (int64_t m : modality_index_) has[static_cast<size_t>(m)] = 1;
  return has;
}

double Site::lr() const { return adams_.front()->lr(); }

Site::LastBatch Site::last_batch() const {
  if (last_step_ < 0) return {};
  return {x_.to(Device::cpu()).to(DType::f32), real_.to(Device::cpu()).to(DType::f32),
          synthetic_.to(Device::cpu()).to(DType::f32), last_step_};
}

void Site::connect() {
  const data::ShardHeader& h = shard_->header();
  Hello hello;
  hello.contract = run_contract(o_);
  hello.contract_hash = contract_hash(hello.contract);
  hello.declared = {{"device", o_.device.str()}, {"precision", precision_name(o_.numerics.precision)}};
  for (Setting& p : declared_policy(o_.site)) hello.declared.push_back(std::move(p));
  hello.site = h.site;
  hello.samples = num_samples();
  hello.height = h.height;
  hello.width = h.width;
  hello.condition_channels = h.condition_channels;
  hello.image_channels = h.image_channels;
  hello.has_modality = has_modality();
  channel_.send(hello);
  const auto Cc = static_cast<int64_t>(h.condition_channels.size());
  const int64_t plane = Cc * h.height * h.width;
  ConditionUpload up;
  up.keys = keys_;
  up.conditions = Tensor::empty({num_samples(), Cc, h.height, h.width}, DType::u8);
  std::vector<float> buf(static_cast<size_t>(plane));
  uint8_t* out = up.conditions.data<uint8_t>();
  for (size_t p = 0; p < samples_.size(); ++p) {
    shard_->read_condition(samples_[p], buf.data());  // conditions only: the upload never touches images
    for (int64_t k = 0; k < plane; ++k)  // back to the shard's u8 (k / 255 -> k exactly)
      out[static_cast<int64_t>(p) * plane + k] = static_cast<uint8_t>(std::lround(buf[static_cast<size_t>(k)] * 255.0f));
  }
  channel_.send(up);
}

Served Site::serve_one() {
  ToSite m = channel_.receive(o_.timeout);
  if (auto* r = std::get_if<Request>(&m)) {
    channel_.send(answer(*r));
    return Served::request;
  }
  if (auto* f = std::get_if<Failure>(&m))
    throw Error(msg("site '", name(), "': the central node ended this site's part in the run: ", f->reason));
  const Control& c = std::get<Control>(m);
  switch (c.kind) {
    case ControlKind::start: return Served::start;
    case ControlKind::stop: return Served::stop;
    case ControlKind::set_lr:
      if (!(c.value > 0) || !std::isfinite(c.value))
        throw ValueError(msg("site '", name(), "': the central node set learning rate ", c.value, "; expected a positive number"));
      for (auto& a : adams_) a->set_lr(c.value);
      return Served::set_lr;
    case ControlKind::checkpoint:
      if (on_checkpoint) on_checkpoint(c.step);
      return Served::checkpoint;
  }
  return Served::start;  // unreachable: decode admits only the kinds above
}

Served Site::serve_request() {
  for (;;) {
    const Served s = serve_one();
    if (s == Served::request || s == Served::stop) return s;
  }
}

std::vector<uint8_t> Site::admit(const Request& r, std::vector<int64_t>& positions, std::string& why) {
  const data::ShardHeader& h = shard_->header();
  const auto B = static_cast<int64_t>(r.keys.size());
  std::vector<uint8_t> ok(static_cast<size_t>(B), 0);
  positions.assign(static_cast<size_t>(B), -1);
  std::set<std::string> reasons;  // each reason once, however many rows it refused: the line stays short
  const int64_t side_h = r.crop ? r.crop : h.height, side_w = r.crop ? r.crop : h.width;
  const Shape expected{B, static_cast<int64_t>(h.image_channels.size()), side_h, side_w};
  if (r.crop < 0 || r.crop > std::min(h.height, h.width)) {
    why = msg("a crop of ", r.crop, " from ", h.height, "x", h.width, " samples");
    return ok;
  }
  if (r.synthetic.shape() != expected || static_cast<int64_t>(r.aug.size()) != B) {
    why = msg("synthetic images ", shape_str(r.synthetic.shape()), " where this site's samples make ", shape_str(expected));
    return ok;
  }
  // Pixels out of range or not finite, per row: on a GPU one reduction first, and the rows read on the host only when
  // it finds some (a well-behaved central node sends tanh outputs); on the host one pass over them.
  const double limit = o_.site.pixel_limit;
  const Tensor& y = r.synthetic;
  std::vector<uint8_t> pixels_ok(static_cast<size_t>(B), 1);
  const bool suspect = !y.device().is_cuda() || sum(relu(y - limit) + relu(-y - limit) + y * 0.0).to_doubles()[0] != 0;
  if (suspect && B > 0) {  // the reduction is NaN when a pixel is
    const Tensor host = y.to(Device::cpu()).to(DType::f32).contiguous();
    const float* v = host.data<float>();
    const int64_t row = host.numel() / B;
    const auto bound = static_cast<float>(limit);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = b * row; i < (b + 1) * row; ++i)
        if (!(std::abs(v[i]) <= bound)) {  // false for NaN
          pixels_ok[static_cast<size_t>(b)] = 0;
          break;
        }
  }
  std::unordered_map<int64_t, int64_t> in_request;  // answers about each position this request, so far
  for (int64_t b = 0; b < B; ++b) {
    const auto bi = static_cast<size_t>(b);
    auto it = key_position_.find(r.keys[bi]);
    if (it == key_position_.end()) {
      reasons.insert("a key this site never uploaded");  // no key in it: one line, however many keys are unknown
      continue;
    }
    const int64_t p = it->second;
    const data::CropFlip& a = r.aug[bi];
    if (a.top < 0 || a.left < 0 || a.top + side_h > h.height || a.left + side_w > h.width) {
      reasons.insert(msg("a crop of ", side_h, "x", side_w, " outside the ", h.height, "x", h.width, " sample"));
      continue;
    }
    if (!pixels_ok[bi]) {
      reasons.insert(msg("synthetic pixels outside [-", limit, ", ", limit, "] or not finite"));
      continue;
    }
    const int64_t times = in_request[p] + 1;
    if (ledger_ && !ledger_->can_answer(p, times)) {
      reasons.insert(msg("a sample whose privacy budget (site.privacy.epsilon = ", o_.site.privacy.epsilon, ") is spent"));
      continue;
    }
    const int64_t max_q = o_.site.max_queries_per_sample;
    if (max_q > 0 && epoch_answers_[static_cast<size_t>(p)] >= max_q) {
      reasons.insert(msg("more than ", max_q, " answers about one sample in an epoch (site.max_queries_per_sample)"));
      continue;
    }
    in_request[p] = times;
    ok[bi] = 1;
    positions[bi] = p;
    if (max_q > 0) {
      ++epoch_answers_[static_cast<size_t>(p)];
      if (++epoch_rows_ >= num_samples()) {  // the site's epoch turns over: every sample may be asked about again
        std::fill(epoch_answers_.begin(), epoch_answers_.end(), 0);
        epoch_rows_ = 0;
      }
    }
  }
  for (const auto& w : reasons) why += (why.empty() ? "" : "; ") + w;
  return ok;
}

Tensor Site::sanitized(const Tensor& grad, const std::vector<uint8_t>& accepted) {
  const PrivacyOptions& q = o_.site.privacy;
  const Tensor g = grad.to(Device::cpu()).to(DType::f32).contiguous();
  const auto B = static_cast<int64_t>(accepted.size());
  const int64_t answered = g.size(0);
  Shape shape = g.shape();
  shape[0] = B;
  Tensor out = Tensor::zeros(shape);
  const int64_t row = g.numel() / std::max<int64_t>(answered, 1);
  const int64_t plane = g.size(2) * g.size(3);
  const std::vector<uint8_t> has = has_modality();
  const float* src = g.data<float>();
  float* dst = out.data<float>();
  Tensor noise;
  if (q.noisy()) noise = Tensor::randn({answered, row}, *noise_, DType::f32, 0.0, q.sigma * q.clip);
  for (int64_t b = 0, i = 0; b < B; ++b) {
    if (!accepted[static_cast<size_t>(b)]) continue;
    // The gradient is a mean over the answered rows: times their count, each row is its own sample's gradient.
    const float* x = src + i * row;
    double norm2 = 0;
    for (int64_t k = 0; k < row; ++k) norm2 += static_cast<double>(x[k]) * x[k];
    const double per_sample = static_cast<double>(answered);
    const double norm = std::sqrt(norm2) * per_sample;
    const double scale = per_sample * (q.clip > 0 && norm > q.clip ? q.clip / norm : 1.0);
    const float* z = noise.defined() ? noise.data<float>() + i * row : nullptr;
    float* y = dst + b * row;
    for (int64_t k = 0; k < row; ++k) {
      // Noise only where the site answers: the channels it lacks stay exactly zero, as the central node expects.
      const bool channel_held = has[static_cast<size_t>(k / plane)] != 0;
      const double v = scale * x[k] + (z && channel_held ? z[k] : 0.0);
      y[k] = static_cast<float>(v / static_cast<double>(B));  // a mean over the B rows asked about
    }
    ++i;
  }
  return out;
}

Gradient Site::answer(const Request& r) {
  const auto B = static_cast<int64_t>(r.keys.size());
  Gradient out;
  out.step = r.step;
  out.samples = B;
  std::vector<int64_t> positions;
  std::string why;
  const std::vector<uint8_t> accepted = admit(r, positions, why);
  const auto answered = static_cast<int64_t>(std::count(accepted.begin(), accepted.end(), uint8_t{1}));
  if (answered < B) {
    out.refused = accepted;
    for (uint8_t& v : out.refused) v = v ? 0 : 1;
    out.refusal = why;
    refused_rows_ += B - answered;
    if (on_event)
      on_event(msg("site '", name(), "': step ", r.step, ": refused ", B - answered, " of ", B, " rows: ", why));
  }
  out.epsilon = epsilon_spent();
  if (answered == 0) {  // no D step and nothing computed: zeros in the shape the central node sent
    out.grad = Tensor::zeros(r.synthetic.shape());
    out.stats_withheld = true;
    return out;
  }
  std::vector<int64_t> indices;
  std::vector<data::CropFlip> aug;
  std::vector<Tensor> rows;
  for (int64_t b = 0; b < B; ++b)
    if (accepted[static_cast<size_t>(b)]) {
      indices.push_back(samples_[static_cast<size_t>(positions[static_cast<size_t>(b)])]);
      aug.push_back(r.aug[static_cast<size_t>(b)]);
      if (answered < B) rows.push_back(r.synthetic.narrow(0, b, 1));
    }
  const data::Batch batch = data::make_batch(*shard_, indices, aug, r.crop);
  stage(x_, batch.condition, o_.device);
  stage(real_, batch.image, o_.device);
  stage(synthetic_, answered < B ? cat(rows, 0) : r.synthetic, o_.device);
  if (graph_batch_ != answered) {  // a graph replays one shape: a new batch size is captured anew
    graph_.reset();
    graph_batch_ = answered;
  }
  graph_.run([&] { discriminator_and_generator_loss(); });

  last_step_ = r.step;
  // Channels the site lacks carry exactly zero (narrow's backward leaves them so; this makes it a guarantee).
  const std::vector<uint8_t> has = has_modality();
  for (size_t c = 0; c < has.size(); ++c)
    if (!has[c]) grad_out_.narrow(1, static_cast<int64_t>(c), 1).fill_(0.0);
  // The statistics are header fields: read once (one transfer), each accumulated as (value / K) in D order.
  const std::vector<double> v = stats_out_.to_doubles();
  const auto K = static_cast<int64_t>(ds_.size());
  if (!std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); })) {
    // The discriminators have taken a step on it already: their last good state is the site's latest checkpoint,
    // and the central node's is its own. Tell the central node, then stop.
    const std::string report = non_finite_report(r.step, v);
    try {
      channel_.send(Failure{report});
    } catch (const std::exception&) {
      // the central node is gone already; the error below says what happened either way
    }
    throw NonFiniteError(report);
  }
  const PrivacyOptions& q = o_.site.privacy;
  if (q.clip > 0 || q.noisy() || answered < B) {
    out.grad = sanitized(grad_out_, accepted);
  } else {
    out.grad = grad_out_;  // on the device: the channel moves it
  }
  if (ledger_) {
    const int64_t before = ledger_->exhausted();
    for (int64_t p : positions)
      if (p >= 0) ledger_->charge(p);
    // Strictly, the discriminators learn from every sample, so each answered row may move with any one of them:
    // the batch's rows together, 2C each, as one Gaussian mechanism charged to every sample (README, "Privacy").
    ledger_->charge_everyone(gaussian_rho(q.sigma, 2.0 * std::sqrt(static_cast<double>(answered))));
    out.epsilon = ledger_->max_epsilon();
    if (on_event && ledger_->exhausted() > before)
      on_event(msg("site '", name(), "': step ", r.step, ": ", ledger_->exhausted(), " of ", num_samples(),
                   " samples have spent their privacy budget (epsilon ", q.epsilon, " at delta ", q.delta,
                   "); the site refuses further questions about them"));
  }
  SiteStats st;
  const auto k_count = static_cast<double>(K);
  for (int64_t k = 0; k < K; ++k) {
    st.d_loss += v[static_cast<size_t>(3 * k)] / k_count;
    st.d_real += v[static_cast<size_t>(3 * k + 1)] / k_count;
    st.d_fake += v[static_cast<size_t>(3 * k + 2)] / k_count;
  }
  for (int64_t k = 0; k < K; ++k) {
    st.g_gan += v[static_cast<size_t>(3 * K + 2 * k)] / k_count;
    st.g_l1 += v[static_cast<size_t>(3 * K + 2 * k + 1)] / k_count;
  }
  st.g_loss = v[v.size() - 2];  // the last is the gradient's finiteness probe
  last_ = st;
  // Under a defence the statistics stay at the site: each is a function of its real images (g_l1 alone would let
  // the central node bisect them one pixel at a time), and the noise covers only the gradient.
  if (q.withholds_stats()) out.stats_withheld = true;
  else out.stats = st;
  return out;
}

// One D step per discriminator on (x, real) vs (x, synthetic), then dL/dG(x) through the updated Ds, from the
// staged tensors into grad_out_ and stats_out_ (device tensors a CUDA graph replay refreshes in place).
void Site::discriminator_and_generator_loss() {
  const Tensor& x = x_;
  const Tensor& real = real_;
  const Tensor& synthetic = synthetic_;
  // Logits in f32 whatever the discriminators compute in, so the losses and statistics are f32.
  auto judge = [](nn::Module& d, const Tensor& pair) { return to_loss_dtype(d(pair)); };
  const models::GANLoss gan(o_.gan_loss);
  const auto K = static_cast<int64_t>(ds_.size());
  std::vector<std::vector<int64_t>> sel;
  if (o_.discriminators == DiscriminatorLayout::per_modality)
    for (int64_t m : modality_index_) sel.push_back({m});
  else
    sel.push_back(modality_index_);

  StepScalars scalars;  // per D: d_loss, d_real, d_fake; then per D: g_gan, g_l1; then the total
  // The discriminator steps, as pix2pix's backward_D: fake (detached) then real, loss halved. A D whose layers
  // treat each sample alone (instance norm) judges both in one pass: the same outputs, half the passes and twice
  // as wide products; batch norm in training needs each batch's own statistics, so two passes.
  const Tensor fake_detached = synthetic.detach();
  const int64_t batch = x.size(0);
  for (int64_t k = 0; k < K; ++k) {
    nn::Module& d = *ds_[static_cast<size_t>(k)];
    d.train();
    const Tensor fake_pair = cat({x, channels(fake_detached, sel[static_cast<size_t>(k)])}, 1);
    const Tensor real_pair = cat({x, channels(real, sel[static_cast<size_t>(k)])}, 1);
    Tensor pred_fake, pred_real;
    if (nn::batch_coupled(d)) {
      pred_fake = judge(d, fake_pair);
      pred_real = judge(d, real_pair);
    } else {
      const Tensor both = judge(d, cat({fake_pair, real_pair}, 0));
      pred_fake = both.narrow(0, 0, batch);
      pred_real = both.narrow(0, batch, batch);
    }
    const Tensor loss = (gan(pred_fake, false) + gan(pred_real, true)) * 0.5;
    adams_[static_cast<size_t>(k)]->zero_grad();
    loss.backward();
    adams_[static_cast<size_t>(k)]->step();
    adams_[static_cast<size_t>(k)]->zero_grad();
    scalars.add(loss);
    scalars.add(mean_output(pred_real, o_.gan_loss));
    scalars.add(mean_output(pred_fake, o_.gan_loss));
  }

  // The generator loss with the updated discriminators, differentiated w.r.t. the synthetic images only:
  // the discriminators' parameters are frozen meanwhile, so no weight gradient is computed or kept.
  Tensor fake = synthetic.detach().clone();
  fake.set_requires_grad(true);
  std::vector<Tensor> frozen;
  for (const auto& d : ds_)
    for (Tensor p : d->parameters())
      if (p.requires_grad()) frozen.push_back(p.set_requires_grad(false));
  Tensor mask;
  if (mask_channel_ >= 0) mask = x.narrow(1, mask_channel_, 1);
  Tensor total;
  try {
    for (int64_t k = 0; k < K; ++k) {
      const auto& s = sel[static_cast<size_t>(k)];
      const Tensor f = channels(fake, s), y = channels(real, s);
      const Tensor g = gan(judge(*ds_[static_cast<size_t>(k)], cat({x, f}, 1)), true);
      Tensor l1;
      if (mask.defined()) {
        std::vector<Tensor> m(s.size(), mask);
        l1 = l1_loss(f, y, s.size() == 1 ? mask.contiguous() : cat(m, 1));
      } else {
        l1 = l1_loss(f, y);
      }
      // drop_l1: the site answers with the adversarial term alone (l1 is still measured, for its own log).
      const Tensor loss = o_.site.privacy.drop_l1 ? g : g + l1 * o_.lambda_l1;
      total = total.defined() ? total + loss : loss;
      scalars.add(g);
      scalars.add(l1);
    }
    scalars.add(total);
    total.backward();
  } catch (...) {
    for (Tensor& p : frozen) p.set_requires_grad(true);
    throw;
  }
  for (Tensor& p : frozen) p.set_requires_grad(true);
  grad_out_ = fake.grad().defined() ? fake.grad() : Tensor::zeros_like(fake);
  // 0 when every element of the gradient is finite, NaN otherwise (NaN and infinity times 0 are NaN, and no sum of
  // zeros overflows): read back with the statistics, so checking the gradient costs no transfer of its own.
  scalars.add(sum(mul_scalar(grad_out_, 0.0)));
  stats_out_ = scalars.gather();
}

std::string Site::non_finite_report(int64_t step, const std::vector<double>& v) const {
  // v: per D d_loss, d_real, d_fake; per D g_gan, g_l1; the total generator loss; the gradient probe.
  const size_t K = ds_.size();
  auto d_name = [&](size_t k) {
    if (o_.discriminators == DiscriminatorLayout::joint) return std::string("joint");
    return modalities_.at(k);
  };
  std::string bad;
  auto check = [&](const std::string& what, double x) {
    if (!std::isfinite(x)) bad += msg(bad.empty() ? "" : ", ", what, " = ", x);
  };
  for (size_t k = 0; k < K; ++k) {
    check(msg("D loss (", d_name(k), ")"), v[3 * k]);
    check(msg("D(real) (", d_name(k), ")"), v[3 * k + 1]);
    check(msg("D(fake) (", d_name(k), ")"), v[3 * k + 2]);
  }
  for (size_t k = 0; k < K; ++k) {
    check(msg("G GAN loss (", d_name(k), ")"), v[3 * K + 2 * k]);
    check(msg("G L1 loss (", d_name(k), ")"), v[3 * K + 2 * k + 1]);
  }
  check("G loss", v[v.size() - 2]);
  if (!std::isfinite(v.back())) bad += msg(bad.empty() ? "" : ", ", "the gradient w.r.t. the synthetic images holds NaN or infinity");
  return msg("site '", name(), "': step ", step, ": not finite: ", bad,
             ". The run stops here; its checkpoints hold the last good state. Lower the learning rates or "
             "lambda_L1, or train in fp32, then resume from the latest checkpoint");
}

void Site::save_state(Checkpoint& ckpt, const std::string& prefix) const {
  put_int(ckpt, prefix + "secret", static_cast<int64_t>(secret_));
  for (size_t k = 0; k < ds_.size(); ++k) {
    put_module(ckpt, msg(prefix, "d", k, "."), *ds_[k]);
    put_optimizer(ckpt, msg(prefix, "adam", k, "."), *adams_[k]);
  }
  ckpt.tensors[prefix + "epoch_answers"] = Tensor::from_vector(epoch_answers_, {num_samples()});
  put_int(ckpt, prefix + "epoch_rows", epoch_rows_);
  if (ledger_) ledger_->save(ckpt, prefix + "privacy.");
}

void Site::load_state(const Checkpoint& ckpt, const std::string& prefix) {
  if (static_cast<uint64_t>(get_int(ckpt, prefix + "secret")) != secret_)
    throw ValueError(msg("site '", name(), "': the state under '", prefix, "' was saved with another site secret; start the "
                         "site with the secret of the run it resumes (its keys must match what the central node holds)"));
  for (size_t k = 0; k < ds_.size(); ++k) {
    get_module(ckpt, msg(prefix, "d", k, "."), *ds_[k]);
    get_optimizer(ckpt, msg(prefix, "adam", k, "."), *adams_[k]);
  }
  // Saved before the site kept a policy's state: it starts afresh (nothing was spent under a budget then).
  if (auto it = ckpt.tensors.find(prefix + "epoch_answers"); it != ckpt.tensors.end()) {
    const Tensor& t = it->second;
    if (t.dtype() != DType::i64 || t.shape() != Shape{num_samples()})
      throw ValueError(msg("site '", name(), "': the saved answers per sample are ", t.describe(), "; expected ", num_samples(),
                           " i64 (one per training sample): this state belongs to another shard"));
    epoch_answers_.assign(t.data<int64_t>(), t.data<int64_t>() + num_samples());
    epoch_rows_ = get_int(ckpt, prefix + "epoch_rows");
  }
  const bool saved_ledger = ckpt.tensors.count(prefix + "privacy.rho") > 0;
  if (ledger_ && saved_ledger) ledger_->load(ckpt, prefix + "privacy.");
  if (!ledger_ && saved_ledger && on_event)
    on_event(msg("site '", name(), "': its checkpoint holds a privacy ledger but site.privacy.sigma is 0 now: answers are no "
                 "longer noised, and what was spent no longer bounds what it reveals"));
  graph_.reset();  // the optimizers' state tensors were replaced: capture anew
}

}  // namespace asyndgan::dist
