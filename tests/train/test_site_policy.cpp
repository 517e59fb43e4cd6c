// A site's own policy (dist/site_policy.h): what it refuses while the run goes on, per-sample clipping and
// Gaussian noise on the gradient it returns, its privacy budget, and what it keeps to itself.
#include <doctest/doctest.h>
#include <cmath>
#include <cstring>
#include <numeric>
#include "dist/privacy_accountant.h"
#include "dist/site_secret.h"
#include "train/dist_fixture.h"

using namespace asyndgan;
using namespace asyndgan::dist;
using asyndgan::test::ScratchDir;

namespace {

// One real Site over an in-process channel, driven by hand as a (curious) central node would.
struct SiteRig {
  InProcessChannel ch{1, WireDtype::f32};
  std::unique_ptr<Site> site;
  Hello hello;
  ConditionUpload up;
  std::vector<std::string> events;

  SiteRig(const std::string& shard, TrainOptions o) {
    site = std::make_unique<Site>(data::Shard::open(shard), ch.site(0), o, test::tiny_discriminator, 11);
    site->on_event = [this](const std::string& e) { events.push_back(e); };
    site->connect();
    hello = std::get<Hello>(ch.central().receive(0, kWaitLong));
    up = std::get<ConditionUpload>(ch.central().receive(0, kWaitLong));
  }
  // Sends a request for these key positions (synthetic: given, or a fixed grey image) and returns the answer.
  Gradient ask(const std::vector<int64_t>& positions, Tensor synthetic = Tensor(), int64_t step = 0) {
    Request r;
    r.step = step;
    for (int64_t p : positions) r.keys.push_back(up.keys[static_cast<size_t>(p)]);
    r.aug.assign(positions.size(), data::CropFlip{});
    const int64_t side = hello.height;
    r.synthetic = synthetic.defined() ? synthetic : Tensor::full({static_cast<int64_t>(positions.size()), 2, side, side}, 0.1);
    return send(r);
  }
  Gradient send(const Request& r) {
    ch.central().send(0, r);
    REQUIRE(site->serve_one() == Served::request);
    return std::get<Gradient>(ch.central().receive(0, kWaitLong));
  }
};

std::vector<double> row(const Tensor& t, int64_t b) { return t.narrow(0, b, 1).contiguous().to_doubles(); }

double norm(const std::vector<double>& v) {
  return std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0));
}

bool all_zero(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return x == 0.0; });
}

}  // namespace

TEST_CASE("site policy: unknown keys, wrong shapes, bad crops and out-of-range pixels are refused and the run goes on") {
  ScratchDir dir("site_policy_refusals");
  TrainOptions o;
  SiteRig rig(test::write_dist_shard(dir, "a", 4), o);
  // An unknown key: that row refused (zero, flagged, named), the other answered.
  Request r;
  r.keys = {rig.up.keys[0] ^ 1, rig.up.keys[1]};
  r.aug = {data::CropFlip{}, data::CropFlip{}};
  r.synthetic = Tensor::full({2, 2, 16, 16}, 0.1);
  Gradient g = rig.send(r);
  CHECK(g.refused == std::vector<uint8_t>{1, 0});
  CHECK(g.refusal.find("never uploaded") != std::string::npos);
  CHECK(all_zero(row(g.grad, 0)));
  CHECK_FALSE(all_zero(row(g.grad, 1)));
  REQUIRE(rig.events.size() == 1);
  CHECK(rig.events[0].find("refused 1 of 2 rows") != std::string::npos);
  // The wrong shape: every row refused, nothing computed, zeros in the shape that was sent.
  r.keys = {rig.up.keys[0], rig.up.keys[1]};
  r.synthetic = Tensor::zeros({2, 2, 8, 8});
  g = rig.send(r);
  CHECK(g.answered() == 0);
  CHECK(g.refusal.find("[2, 2, 8, 8]") != std::string::npos);
  CHECK(g.grad.shape() == Shape{2, 2, 8, 8});
  CHECK(all_zero(g.grad.to_doubles()));
  // A crop window outside the sample.
  r.synthetic = Tensor::full({2, 2, 8, 8}, 0.1);
  r.crop = 8;
  r.aug = {data::CropFlip{9, 0, false}, data::CropFlip{4, 4, false}};
  g = rig.send(r);
  CHECK(g.refused == std::vector<uint8_t>{1, 0});
  CHECK(g.refusal.find("outside") != std::string::npos);
  // Pixels beyond tanh's range, and NaN: those rows refused.
  r.crop = 0;
  r.aug = {data::CropFlip{}, data::CropFlip{}, data::CropFlip{}};
  r.keys = {rig.up.keys[2], rig.up.keys[3], rig.up.keys[0]};
  Tensor y = Tensor::full({3, 2, 16, 16}, 0.2);
  y.data<float>()[5] = 1.5f;                      // row 0
  y.data<float>()[2 * 2 * 16 * 16 + 7] = NAN;     // row 2
  r.synthetic = y;
  g = rig.send(r);
  CHECK(g.refused == std::vector<uint8_t>{1, 0, 1});
  CHECK(g.refusal.find("outside [-") != std::string::npos);
  // And a good request is answered in full after all of that.
  g = rig.ask({0, 2});
  CHECK(g.refused.empty());
  CHECK(g.answered() == 2);
}

TEST_CASE("site policy: more than max_queries_per_sample answers about one sample in the site's epoch are refused") {
  ScratchDir dir("site_policy_queries");
  TrainOptions o;
  o.site.max_queries_per_sample = 1;
  SiteRig rig(test::write_dist_shard(dir, "a", 3), o);
  Gradient g = rig.ask({0, 0});  // a repeat within one request counts too
  CHECK(g.refused == std::vector<uint8_t>{0, 1});
  CHECK(g.refusal.find("site.max_queries_per_sample") != std::string::npos);
  CHECK(rig.ask({0}).answered() == 0);
  // Answering the other samples completes the site's epoch (3 answered rows): sample 0 may be asked about again.
  CHECK(rig.ask({1, 2}).answered() == 2);
  CHECK(rig.ask({0}).answered() == 1);
  // Batches larger than the site repeat its samples: the limit makes room (ceil(4 / 3) + 1 = 3 here).
  TrainOptions big = o;
  big.batch_per_site = 4;
  SiteRig small(test::write_dist_shard(dir, "c", 3), big);
  CHECK(small.site->policy().max_queries_per_sample == 3);
  CHECK(small.ask({0, 1, 2, 0}).answered() == 4);
  // 0: no limit.
  o.site.max_queries_per_sample = 0;
  SiteRig open(test::write_dist_shard(dir, "b", 3), o);
  for (int i = 0; i < 4; ++i) CHECK(open.ask({0, 0}).answered() == 2);
}

TEST_CASE("site policy: each answered row is clipped to L2 norm C as its own sample's gradient") {
  ScratchDir dir("site_policy_clip");
  const std::string shard = test::write_dist_shard(dir, "a", 4);
  TrainOptions o;
  o.site.max_queries_per_sample = 0;
  SiteRig plain(shard, o);
  const Gradient raw = plain.ask({0, 1, 2});
  const int64_t B = 3;
  // The unclipped rows are each sample's gradient / B: find a C between the rows' norms.
  std::vector<double> norms;
  for (int64_t b = 0; b < B; ++b) norms.push_back(norm(row(raw.grad, b)) * B);
  const double C = 0.5 * (*std::min_element(norms.begin(), norms.end()) + *std::max_element(norms.begin(), norms.end()));
  REQUIRE(*std::min_element(norms.begin(), norms.end()) < C);
  o.site.privacy.clip = C;
  SiteRig clipped(shard, o);  // the same secret, seed and discriminators: the same step
  const Gradient g = clipped.ask({0, 1, 2});
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<double> got = row(g.grad, b), was = row(raw.grad, b);
    const double n = norm(got) * B;
    if (norms[static_cast<size_t>(b)] > C) {
      CHECK(n == doctest::Approx(C).epsilon(1e-5));
      // The same direction, only shorter.
      const double scale = C / norms[static_cast<size_t>(b)];
      for (size_t k = 0; k < got.size(); k += 37) CHECK(got[k] == doctest::Approx(was[k] * scale).epsilon(1e-4).scale(1e-9));
    } else {
      CHECK(n == doctest::Approx(norms[static_cast<size_t>(b)]).epsilon(1e-5));
    }
  }
  // Clipping alone is a defence of the statistics too: they stay at the site only under noise or drop_l1.
  CHECK_FALSE(g.stats_withheld);
  CHECK(g.epsilon == 0);
}

TEST_CASE("site policy: the noise has mean 0 and std sigma * C / B, only on the modalities the site has") {
  ScratchDir dir("site_policy_noise");
  TrainOptions o;
  o.site.max_queries_per_sample = 0;
  o.site.privacy.clip = 1e-6;  // the gradient itself all but vanishes beside the noise
  o.site.privacy.sigma = 3;
  const std::string shard = test::write_dist_shard(dir, "a", 4, 32, /*missing_t2=*/true);
  SiteRig rig(shard, o);
  REQUIRE(rig.hello.has_modality == std::vector<uint8_t>{1, 0});
  const int64_t B = 4;
  const Gradient g = rig.ask({0, 1, 2, 3}, Tensor::full({B, 2, 32, 32}, 0.1));
  const Tensor held = g.grad.narrow(1, 0, 1).contiguous();
  const std::vector<double> v = held.to_doubles();
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / static_cast<double>(v.size() - 1));
  const double want = 3 * 1e-6 / B;
  // 4096 draws: the std's standard error is about 1.1%, the mean's 1.6% of the std.
  CHECK(sd == doctest::Approx(want).epsilon(0.05));
  CHECK(std::abs(mean) < 0.08 * want);
  CHECK(all_zero(g.grad.narrow(1, 1, 1).contiguous().to_doubles()));  // t2: the site has none, so exactly zero
  // Noise from the OS: two sites of the same secret and seed draw different noise for the same question.
  SiteRig twin(shard, o);
  CHECK(twin.ask({0, 1, 2, 3}, Tensor::full({B, 2, 32, 32}, 0.1)).grad.to_doubles() != g.grad.to_doubles());
  // Under noise the statistics stay at the site, and it says what its samples have spent.
  CHECK(g.stats_withheld);
  CHECK(g.stats == SiteStats{});
  CHECK(rig.site->last_stats().d_real > 0);  // the site itself still has them, for its own log
  CHECK(g.epsilon == doctest::Approx(epsilon_from_rho(gaussian_rho(3), 1e-5).epsilon));
}

TEST_CASE("site policy: a sample's budget is spent after the answers the accountant allows, then refused") {
  ScratchDir dir("site_policy_budget");
  TrainOptions o;
  o.site.max_queries_per_sample = 0;
  o.site.privacy.clip = 1;
  o.site.privacy.epsilon = 4;
  o.site.privacy.answers = 3;  // sigma: the least noise with which 3 answers per sample fit epsilon 4
  SiteRig rig(test::write_dist_shard(dir, "a", 4), o);
  const double sigma = rig.site->policy().privacy.sigma;
  CHECK(sigma == noise_for_budget(4, 1e-5, 3));
  // Declared in the Hello, resolved.
  CHECK(std::find(rig.hello.declared.begin(), rig.hello.declared.end(), Setting{"site.privacy.epsilon", "4"}) !=
        rig.hello.declared.end());
  double last = 0;
  for (int i = 0; i < 3; ++i) {
    const Gradient g = rig.ask({0, 1}, Tensor(), i);
    CHECK(g.answered() == 2);
    CHECK(g.epsilon > last);
    CHECK(g.epsilon <= 4);
    last = g.epsilon;
  }
  CHECK(last == doctest::Approx(epsilon_from_rho(3 * gaussian_rho(sigma), 1e-5).epsilon));
  CHECK(rig.site->exhausted_samples() == 2);
  // The fourth answer about samples 0 and 1 would exceed the budget: refused; samples 2 and 3 are still answered.
  const Gradient g = rig.ask({0, 2, 1, 3}, Tensor(), 3);
  CHECK(g.refused == std::vector<uint8_t>{1, 0, 1, 0});
  CHECK(g.refusal.find("privacy budget") != std::string::npos);
  CHECK(g.epsilon == doctest::Approx(last));
  // Two repeats of sample 2 in one request: the budget holds for 2 more, the third is refused.
  CHECK(rig.ask({2, 2, 2}, Tensor(), 4).refused == std::vector<uint8_t>{0, 0, 1});
  bool said = false;
  for (const auto& e : rig.events) said = said || e.find("spent their privacy budget") != std::string::npos;
  CHECK(said);
  // The site-wide bound charges every answer to every sample: never below the per-sample one.
  CHECK(rig.site->site_wide_epsilon() > rig.site->epsilon_spent());

  // The ledger and the epoch's answers are the site's state: a restarted site refuses what it refused before.
  Checkpoint ckpt;
  rig.site->save_state(ckpt, "site.");
  SiteRig again(dir.file("a.shard"), o);
  again.site->load_state(ckpt, "site.");
  CHECK(again.site->epsilon_spent() == doctest::Approx(rig.site->epsilon_spent()));
  CHECK(again.ask({0}).answered() == 0);
  CHECK(again.ask({3}).answered() == 1);
}

TEST_CASE("site policy: drop_l1 answers with the adversarial term alone") {
  ScratchDir dir("site_policy_drop_l1");
  const std::string shard = test::write_dist_shard(dir, "a", 4);
  TrainOptions o;
  o.site.privacy.drop_l1 = true;
  SiteRig dropped(shard, o);
  TrainOptions no_l1;
  no_l1.lambda_l1 = 0;
  SiteRig zero(shard, no_l1);
  TrainOptions full;
  SiteRig both(shard, full);
  const Tensor y = Tensor::full({2, 2, 16, 16}, 0.3);
  const Gradient a = dropped.ask({0, 1}, y), b = zero.ask({0, 1}, y), c = both.ask({0, 1}, y);
  CHECK(a.grad.to_doubles() == b.grad.to_doubles());
  CHECK(a.grad.to_doubles() != c.grad.to_doubles());
  CHECK(a.stats_withheld);  // g_l1 alone would let the central node bisect the real images
  CHECK_FALSE(c.stats_withheld);
}

TEST_CASE("site policy: bad settings are refused naming the key and the fix") {
  ScratchDir dir("site_policy_settings");
  const std::string shard = test::write_dist_shard(dir, "a", 2);
  auto refused = [&](auto&& set, const char* key) {
    TrainOptions o;
    set(o.site);
    InProcessChannel ch(1, WireDtype::f32);
    CHECK_THROWS_WITH_AS(Site(data::Shard::open(shard), ch.site(0), o, test::tiny_discriminator, 1), doctest::Contains(key),
                         ValueError);
  };
  refused([](SitePolicy& p) { p.privacy.sigma = 1; }, "site.privacy.clip");
  refused([](SitePolicy& p) { p.privacy.epsilon = 2; }, "site.privacy.sigma");
  refused([](SitePolicy& p) { p.privacy.clip = -1; }, "site.privacy.clip");
  refused([](SitePolicy& p) { p.privacy.delta = 1; }, "site.privacy.delta");
  refused([](SitePolicy& p) { p.privacy.answers = 5; }, "site.privacy.epsilon");
  refused([](SitePolicy& p) { p.max_queries_per_sample = -1; }, "site.max_queries_per_sample");
}

TEST_CASE("site policy: the central node logs refusals, and a site that answers no row sits the step out") {
  ScratchDir dir("site_policy_central");
  // Site a (2 samples) may answer about each sample once; site b (8 samples) has budget for its first steps.
  SimulationSpec spec = test::tiny_spec({test::write_dist_shard(dir, "a", 2), test::write_dist_shard(dir, "b", 8, 16, false, 0.2f)});
  spec.options.batch_per_site = 2;
  spec.options.site.max_queries_per_sample = 0;
  spec.options.site.privacy.clip = 1;
  spec.options.site.privacy.epsilon = 3;
  spec.options.site.privacy.answers = 1;
  Simulation sim(spec);
  std::vector<std::string> events;
  sim.central().on_event = [&](const std::string& e) { events.push_back(e); };
  StepReport r = sim.step();
  CHECK(r.sites[0].participated);
  CHECK(r.sites[0].refused == 0);
  CHECK(r.sites[0].stats_withheld);
  CHECK(r.sites[0].epsilon > 0);
  CHECK(r.sites[0].weight == doctest::Approx(0.2));
  r = sim.step();  // site a's samples are spent: it refuses both rows, so only b's gradient counts
  CHECK_FALSE(r.sites[0].participated);
  CHECK(r.sites[0].refused == 2);
  CHECK(r.sites[0].weight == 0);
  CHECK(r.sites[1].participated);
  CHECK(r.sites[1].weight == doctest::Approx(1.0));
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().find("site 'a' refused 2 of 2 rows of step 1") != std::string::npos);
  CHECK(events.back().find("privacy budget") != std::string::npos);
}

TEST_CASE("site policy: malformed policy fields of a gradient are refused as FormatError") {
  Gradient g;
  g.step = 1;
  g.samples = 2;
  g.grad = Tensor::zeros({2, 1, 2, 2});
  g.refused = {0, 1};
  g.epsilon = 1.5;
  std::vector<uint8_t> b = encode(ToCentral{g});
  const size_t flags = 2 + 8 + 8 + 48 + 1 + 4 + 32 + 2 * 4 * 4 + 8;
  REQUIRE(b[flags + 1] == 1);
  std::vector<uint8_t> bad = b;
  bad[flags + 1] = 2;
  CHECK_THROWS_WITH_AS(decode_to_central(bad), doctest::Contains("refusal flag"), FormatError);
  bad = b;
  bad[flags - 8] = 1;  // one flag for two rows
  CHECK_THROWS_AS(decode_to_central(bad), FormatError);
  bad = b;
  const double negative = -1;
  std::memcpy(bad.data() + bad.size() - 8, &negative, 8);
  CHECK_THROWS_WITH_AS(decode_to_central(bad), doctest::Contains("epsilon"), FormatError);
  g.refused = {1};
  CHECK_THROWS_AS(encode(ToCentral{g}), ValueError);
}
