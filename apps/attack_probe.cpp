// The probe attack: bisection on the sign of the site's L1 gradient, or gradient descent on its whole answer, and
// the measures of what it recovered.
#include "apps/attack_probe.h"
#include <algorithm>
#include <cmath>
#include "apps/image_quality.h"
#include "base/error.h"
#include "engine/tensor.h"

namespace asyndgan::app {

const char* probe_method_name(ProbeMethod m) { return m == ProbeMethod::bisect ? "bisect" : "invert"; }

ProbeMethod parse_probe_method(const std::string& name) {
  if (name == "bisect") return ProbeMethod::bisect;
  if (name == "invert") return ProbeMethod::invert;
  throw ValueError(msg("attack probe: unknown method '", name, "'; expected bisect or invert"));
}

ProbeAttacker::ProbeAttacker(dist::CentralChannel& channel, int64_t site, std::function<void()> serve, ProbeOptions options)
    : channel_(channel), site_(site), serve_(std::move(serve)), o_(std::move(options)) {
  if (o_.budgets.empty()) throw ValueError("attack probe: no budget given; e.g. --budget 1,2,4,8,16");
  for (size_t i = 0; i < o_.budgets.size(); ++i)
    if (o_.budgets[i] < 1 || (i > 0 && o_.budgets[i] <= o_.budgets[i - 1]))
      throw ValueError(msg("attack probe: budgets must be positive and increasing (answers about the sample), got ",
                           o_.budgets[i], " after ", i ? o_.budgets[i - 1] : 0));
  if (o_.rows_per_request < 1)
    throw ValueError(msg("attack probe: rows per request must be at least 1, got ", o_.rows_per_request));
  if (!(o_.step > 0) || !(o_.decay > 0 && o_.decay <= 1))
    throw ValueError(msg("attack probe: invert's step (", o_.step, ") must be > 0 and its decay (", o_.decay, ") in (0, 1]"));
}

void ProbeAttacker::connect() {
  auto expect = [&](const char* what) {
    dist::ToCentral m = channel_.receive(site_, o_.timeout);
    if (const auto* f = std::get_if<dist::Failure>(&m))
      throw Error(msg("attack probe: the site failed before its ", what, ": ", f->reason));
    return m;
  };
  dist::ToCentral h = expect("Hello");
  if (!std::holds_alternative<dist::Hello>(h)) throw FormatError("attack probe: the site's first message is not a Hello");
  hello_ = std::get<dist::Hello>(h);
  dist::ToCentral u = expect("condition upload");
  if (!std::holds_alternative<dist::ConditionUpload>(u))
    throw FormatError("attack probe: the site's second message is not its condition upload");
  upload_ = std::get<dist::ConditionUpload>(u);
  const auto n = static_cast<int64_t>(upload_.keys.size());
  if (o_.sample < 0 || o_.sample >= n)
    throw ValueError(msg("attack probe: --sample ", o_.sample, " is out of range: site '", hello_.site, "' uploaded ", n,
                         " training sample(s); pick one of 0..", n - 1));
  channel_.send(site_, dist::Control{dist::ControlKind::start, 0, 0});
  serve_();
}

uint64_t ProbeAttacker::target_key() const { return upload_.keys.at(static_cast<size_t>(o_.sample)); }

std::vector<uint8_t> ProbeAttacker::target_condition() const {
  const int64_t plane = upload_.conditions.numel() / upload_.conditions.size(0);
  const uint8_t* p = upload_.conditions.data<uint8_t>() + o_.sample * plane;
  return {p, p + plane};
}

std::vector<float> ProbeAttacker::rounded(std::vector<float> v) const {
  if (o_.wire == dist::WireDtype::f32) return v;
  const Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  return t.to(dist::wire_storage(o_.wire)).to(DType::f32).to_vector<float>();
}

dist::Gradient ProbeAttacker::ask(const std::vector<uint64_t>& keys, const std::vector<float>& synthetic) {
  const auto B = static_cast<int64_t>(keys.size());
  const auto C = static_cast<int64_t>(hello_.image_channels.size());
  dist::Request r;
  r.step = ++step_;
  r.crop = 0;  // the full sample, unflipped: every probe pixel meets its own real pixel
  r.keys = keys;
  r.aug.assign(keys.size(), data::CropFlip{});
  r.synthetic = Tensor::from_vector(synthetic, {B, C, hello_.height, hello_.width});
  channel_.send(site_, r);
  serve_();
  dist::ToCentral m = channel_.receive(site_, o_.timeout);
  if (const auto* f = std::get_if<dist::Failure>(&m))
    throw Error(msg("attack probe: site '", hello_.site, "' failed at request ", r.step, ": ", f->reason));
  auto* g = std::get_if<dist::Gradient>(&m);
  if (!g) throw FormatError(msg("attack probe: site '", hello_.site, "' answered request ", r.step, " with a ",
                                dist::message_type_name(dist::type_of(m)), " message, not a gradient"));
  if (g->grad.shape() != r.synthetic.shape())
    throw ShapeError(msg("attack probe: site '", hello_.site, "' answered ", shape_str(r.synthetic.shape()),
                         " images with a gradient of ", shape_str(g->grad.shape())));
  if (!g->refused.empty() && static_cast<int64_t>(g->refused.size()) != B)
    throw FormatError(msg("attack probe: site '", hello_.site, "' flagged ", g->refused.size(), " rows of ", B));
  return std::move(*g);
}

void ProbeAttacker::interleave(ProbeRun& run) {
  const int64_t plane = static_cast<int64_t>(hello_.image_channels.size()) * hello_.height * hello_.width;
  constexpr size_t kChunk = 64;  // rows per request, to keep each message small
  std::vector<uint64_t> keys;
  auto flush = [&] {
    if (keys.empty()) return;
    const dist::Gradient g = ask(keys, std::vector<float>(keys.size() * static_cast<size_t>(plane), 0.0f));
    run.other_rows += static_cast<int64_t>(keys.size());
    run.other_refused += static_cast<int64_t>(std::count(g.refused.begin(), g.refused.end(), uint8_t{1}));
    keys.clear();
  };
  for (size_t i = 0; i < upload_.keys.size(); ++i) {
    if (static_cast<int64_t>(i) == o_.sample) continue;
    keys.push_back(upload_.keys[i]);
    if (keys.size() == kChunk) flush();
  }
  flush();
}

ProbeRun ProbeAttacker::run() {
  ProbeRun run;
  run.method = o_.method;
  const auto C = static_cast<int64_t>(hello_.image_channels.size());
  const int64_t P = hello_.height * hello_.width;
  const auto row = static_cast<size_t>(C * P);
  std::vector<uint8_t> held(row, 0);  // pixels of the channels the site has (the others' gradient is zero)
  for (int64_t c = 0; c < C; ++c)
    if (c < static_cast<int64_t>(hello_.has_modality.size()) && hello_.has_modality[static_cast<size_t>(c)])
      std::fill(held.begin() + c * P, held.begin() + (c + 1) * P, uint8_t{1});
  std::vector<float> lo(row, -1.0f), hi(row, 1.0f), x(row, 0.0f);  // bisect's intervals; invert's estimate
  auto estimate = [&] {
    if (o_.method == ProbeMethod::invert) return x;
    std::vector<float> e(row);
    for (size_t k = 0; k < row; ++k) e[k] = 0.5f * (lo[k] + hi[k]);
    return e;
  };
  int64_t steps = 0;  // invert: answered requests, for the step's decay
  size_t next = 0;
  while (next < o_.budgets.size()) {
    if (o_.interleave && run.asked > 0) interleave(run);
    const int64_t rows = std::min(o_.rows_per_request, o_.budgets[next] - run.asked);
    std::vector<float> synthetic;
    synthetic.reserve(static_cast<size_t>(rows) * row);
    if (o_.method == ProbeMethod::bisect) {
      for (int64_t i = 1; i <= rows; ++i)  // probes splitting each interval into rows + 1 equal parts
        for (size_t k = 0; k < row; ++k)
          synthetic.push_back(held[k] ? lo[k] + (hi[k] - lo[k]) * static_cast<float>(i) / static_cast<float>(rows + 1) : 0.0f);
    } else {
      for (int64_t i = 0; i < rows; ++i) synthetic.insert(synthetic.end(), x.begin(), x.end());
    }
    for (float& v : synthetic) v = std::clamp(v, -1.0f, 1.0f);
    synthetic = rounded(std::move(synthetic));  // narrow by what the site compared, not by what was meant
    const dist::Gradient g = ask(std::vector<uint64_t>(static_cast<size_t>(rows), target_key()), synthetic);
    const std::vector<float> grad = g.grad.to(Device::cpu()).to_vector<float>();
    auto refused = [&](int64_t b) { return !g.refused.empty() && g.refused[static_cast<size_t>(b)] != 0; };
    std::vector<double> mean(o_.method == ProbeMethod::invert ? row : 0, 0.0);
    int64_t answered = 0;
    for (int64_t b = 0; b < rows; ++b) {
      if (refused(b)) {  // no information: the estimate stays
        ++run.refused;
        if (run.first_refusal.empty()) run.first_refusal = g.refusal.empty() ? "(no reason given)" : g.refusal;
        continue;
      }
      ++answered;
      const float* gb = grad.data() + static_cast<size_t>(b) * row;
      const float* pb = synthetic.data() + static_cast<size_t>(b) * row;
      if (o_.method == ProbeMethod::bisect) {
        for (size_t k = 0; k < row; ++k) {
          if (!held[k]) continue;
          // Positive: the probe lies above the real pixel. Zero says nothing (the probe hit it, or L1 is masked).
          if (gb[k] > 0) hi[k] = std::min(hi[k], pb[k]);
          else if (gb[k] < 0) lo[k] = std::max(lo[k], pb[k]);
          if (lo[k] > hi[k]) std::swap(lo[k], hi[k]);  // answers that contradict (the adversarial term): keep both
        }
      } else {
        for (size_t k = 0; k < row; ++k) mean[k] += gb[k];
      }
    }
    if (o_.method == ProbeMethod::invert && answered > 0) {
      double ss = 0;
      int64_t count = 0;
      for (size_t k = 0; k < row; ++k)
        if (held[k]) ss += mean[k] * mean[k], ++count;
      const double rms = count ? std::sqrt(ss / static_cast<double>(count)) : 0.0;
      if (rms > 0) {
        const double eta = o_.step * std::pow(o_.decay, static_cast<double>(steps));
        for (size_t k = 0; k < row; ++k)
          if (held[k]) x[k] = static_cast<float>(std::clamp(x[k] - eta * mean[k] / rms, -1.0, 1.0));
        ++steps;
      }
    }
    run.asked += rows;
    while (next < o_.budgets.size() && run.asked >= o_.budgets[next])
      run.snapshots.push_back({o_.budgets[next++], estimate(), run.refused});
  }
  return run;
}

ProbeTruth probe_truth(const data::Shard& shard, const std::vector<uint8_t>& condition) {
  const data::ShardHeader& h = shard.header();
  const auto C = static_cast<int64_t>(h.image_channels.size());
  const int64_t P = h.height * h.width;
  const auto Cc = static_cast<int64_t>(h.condition_channels.size());
  if (static_cast<int64_t>(condition.size()) != Cc * P)
    throw ShapeError(msg("attack probe: a condition map of ", condition.size(), " values for shard '", shard.path(),
                         "' of ", Cc, "x", h.height, "x", h.width));
  ProbeTruth t;
  t.mean.assign(static_cast<size_t>(C * P), 0.0f);
  std::vector<double> sum(static_cast<size_t>(C * P), 0.0);
  std::vector<int64_t> count(static_cast<size_t>(C), 0);
  std::vector<float> cond(static_cast<size_t>(Cc * P)), img(static_cast<size_t>(C * P));
  int64_t matches = 0;
  for (size_t i = 0; i < h.samples.size(); ++i) {
    if (h.samples[i].split != data::Split::train) continue;
    const auto idx = static_cast<int64_t>(i);
    shard.read_image(idx, img.data());
    for (int64_t c = 0; c < C; ++c) {
      if (!((h.samples[i].available >> c) & 1u)) continue;
      ++count[static_cast<size_t>(c)];
      for (int64_t k = c * P; k < (c + 1) * P; ++k) sum[static_cast<size_t>(k)] += img[static_cast<size_t>(k)];
    }
    shard.read_condition(idx, cond.data());
    bool same = true;
    for (size_t k = 0; k < cond.size() && same; ++k) same = std::lround(cond[k] * 255.0f) == condition[k];
    if (!same) continue;
    ++matches;
    t.shard_index = idx;
    t.real = img;
  }
  if (matches != 1)
    throw ValueError(msg("attack probe: ", matches == 0 ? "no" : std::to_string(matches).c_str(), " training sample(s) of '",
                         shard.path(), "' have the target's condition map",
                         matches == 0 ? "; is this the shard the site was built from?"
                                      : ": the real image to compare with is ambiguous; pick another --sample"));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = c * P; k < (c + 1) * P; ++k)
      t.mean[static_cast<size_t>(k)] =
          count[static_cast<size_t>(c)] ? static_cast<float>(sum[static_cast<size_t>(k)] / static_cast<double>(count[static_cast<size_t>(c)])) : 0.0f;
  return t;
}

ProbeQuality probe_quality(const std::vector<float>& real, const std::vector<float>& estimate,
                           const std::vector<int64_t>& channels, int64_t height, int64_t width) {
  if (channels.empty()) throw ValueError("attack probe: no image channel to measure");
  const int64_t P = height * width;
  std::vector<std::string> names;
  for (int64_t c : channels) names.push_back(std::to_string(c));
  QualityTally tally(names, 2.0);
  for (size_t m = 0; m < channels.size(); ++m)
    tally.add(m, real.data() + channels[m] * P, estimate.data() + channels[m] * P, static_cast<int>(height),
              static_cast<int>(width));
  ProbeQuality q;
  const auto scores = tally.scores();
  for (const auto& s : scores) {
    q.psnr += s.psnr / static_cast<double>(scores.size());
    q.ssim += s.ssim / static_cast<double>(scores.size());
  }
  return q;
}

}  // namespace asyndgan::app
