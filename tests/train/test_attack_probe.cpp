// The probe attack (apps/attack_probe.h, `asyndgan attack probe`) against a real dist::Site: what today's site
// gives away, what its defences keep, refused rows counted and ignored, and the verb end to end.
#include <doctest/doctest.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include "apps/attack_probe.h"
#include "apps/io/jsonl.h"
#include "data/cli_util.h"
#include "dist/site.h"
#include "dist/site_secret.h"
#include "train/dist_fixture.h"

using namespace asyndgan;
using namespace asyndgan::app;
using asyndgan::test::ScratchDir;

namespace {

// One modality (t1) at size x size: a brain disc with a per-sample texture and a tumor, background -1; conditions
// background / tumor / brain, distinct per sample. Samples listed in `val` go to the val split.
std::string write_probe_shard(const ScratchDir& dir, int n, int64_t size = 32, const std::set<int>& val = {}) {
  data::ShardHeader h;
  h.site = "probe";
  h.height = size;
  h.width = size;
  h.condition_channels = {"background", "tumor", "brain"};
  h.image_channels = {"t1"};
  const std::string path = dir.file("probe.shard");
  data::ShardWriter w(path, h, data::ImageEncoding::f32);
  const int64_t P = size * size;
  std::vector<float> cond(3 * P), img(P);
  for (int i = 0; i < n; ++i) {
    const double cx = size * (0.35 + 0.3 * std::fmod(i * 0.37, 1.0)), cy = size * (0.4 + 0.2 * std::fmod(i * 0.61, 1.0));
    const double rb = size * (0.40 + 0.01 * i), rt = size * (0.08 + 0.1 * std::fmod(i * 0.23, 1.0));
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x) {
        const double db = std::hypot(x - size / 2.0 + 0.5, y - size / 2.0 + 0.5), dt = std::hypot(x - cx, y - cy);
        const bool brain = db < rb, tumor = dt < rt && brain;
        cond[y * size + x] = brain ? 0.0f : 1.0f;
        cond[P + y * size + x] = tumor ? 1.0f : 0.0f;
        cond[2 * P + y * size + x] = brain ? 1.0f : 0.0f;
        const double texture = 0.3 * std::sin(0.5 * x + 1.7 * i) * std::cos(0.3 * y - 0.9 * i);
        img[y * size + x] = !brain ? -1.0f : static_cast<float>(std::clamp(0.2 + texture - (tumor ? 0.7 : 0.0), -1.0, 1.0));
      }
    w.add(cond.data(), img.data(), {"subject-" + std::to_string(i), i, val.count(i) ? data::Split::val : data::Split::train, 1u});
  }
  w.finish();
  return path;
}

// A real Site on an in-process channel, and the curious central node against it.
struct Probe {
  dist::InProcessChannel channel;
  std::shared_ptr<data::Shard> shard;
  dist::Site site;
  Probe(const std::string& path, const dist::TrainOptions& o)
      : channel(1, o.wire_dtype), shard(data::Shard::open(path)),
        site(shard, channel.site(0), o, test::tiny_discriminator, dist::simulation_site_secret(o.seed, 0)) {
    site.connect();
  }
  // The attack's run and its scores; `via` stands between the attacker and the site when given.
  struct Result {
    ProbeRun run;
    std::vector<ProbeQuality> quality;  // per snapshot
    ProbeQuality mean;                  // the site's mean training image
  };
  Result attack(ProbeOptions p, dist::CentralChannel* via = nullptr) {
    ProbeAttacker a(via ? *via : channel.central(), 0, [this] { site.serve_one(); }, p);
    a.connect();
    Result r;
    r.run = a.run();
    const ProbeTruth truth = probe_truth(*shard, a.target_condition());
    const int64_t H = shard->header().height, W = shard->header().width;
    for (const ProbeSnapshot& s : r.run.snapshots) r.quality.push_back(probe_quality(truth.real, s.estimate, {0}, H, W));
    r.mean = probe_quality(truth.real, truth.mean, {0}, H, W);
    return r;
  }
};

dist::TrainOptions today() {
  dist::TrainOptions o;
  o.seed = 5;
  o.site.max_queries_per_sample = 0;  // no rate limit: the attack asks about one sample again and again
  return o;
}

ProbeOptions bisect(std::vector<int64_t> budgets = {1, 2, 4, 8, 12}) {
  ProbeOptions p;
  p.method = ProbeMethod::bisect;
  p.sample = 2;
  p.budgets = std::move(budgets);
  return p;
}

}  // namespace

TEST_CASE("attack probe: against today's site, bisection recovers a sample's real image 10 dB above the mean image in 12 answers") {
  ScratchDir dir("probe_today");
  Probe probe(write_probe_shard(dir, 6), today());
  const auto r = probe.attack(bisect());
  REQUIRE(r.run.snapshots.size() == 5);
  CHECK(r.run.asked == 12);
  CHECK(r.run.refused == 0);
  MESSAGE("bisect PSNR at 1/2/4/8/12 answers: " << r.quality[0].psnr << " " << r.quality[1].psnr << " " << r.quality[2].psnr
          << " " << r.quality[3].psnr << " " << r.quality[4].psnr << "; mean image " << r.mean.psnr);
  CHECK(r.quality.back().psnr >= r.mean.psnr + 10);
  CHECK(r.quality.back().ssim > 0.99);
  CHECK(r.quality.back().psnr > r.quality.front().psnr + 20);  // each answer halves every pixel's interval
}

TEST_CASE("attack probe: bisection with several probes per request and through bf16 still converges, every row counted") {
  ScratchDir dir("probe_rows");
  dist::TrainOptions o = today();
  o.wire_dtype = dist::WireDtype::bf16;
  Probe probe(write_probe_shard(dir, 6), o);
  ProbeOptions p = bisect({3, 12});
  p.rows_per_request = 3;  // 4-ary search: 2 bits per request of 3 rows
  const auto r = probe.attack(p);
  CHECK(r.run.asked == 12);
  CHECK(r.quality.back().psnr >= r.mean.psnr + 10);
}

TEST_CASE("attack probe: gradient inversion from the mid image beats the mean image against today's site") {
  ScratchDir dir("probe_invert");
  Probe probe(write_probe_shard(dir, 6), today());
  ProbeOptions p = bisect({1, 4, 12});
  p.method = ProbeMethod::invert;
  const auto r = probe.attack(p);
  MESSAGE("invert PSNR at 1/4/12 answers: " << r.quality[0].psnr << " " << r.quality[1].psnr << " " << r.quality[2].psnr
          << "; mean image " << r.mean.psnr);
  CHECK(r.quality.back().psnr >= r.mean.psnr + 10);
  CHECK(r.quality.back().psnr > r.quality.front().psnr);
}

TEST_CASE("attack probe: interleaving the other samples turns the site's epoch over, so its default rate limit refuses nothing") {
  ScratchDir dir("probe_interleave");
  dist::TrainOptions o;
  o.seed = 5;  // site.max_queries_per_sample at its default: 2 answers per sample per site epoch
  Probe probe(write_probe_shard(dir, 6), o);
  ProbeOptions p = bisect({1, 4, 12});
  p.interleave = true;
  const auto r = probe.attack(p);
  CHECK(r.run.other_rows == 11 * 5);  // before each of the 11 later questions, the 5 other samples once each
  CHECK(r.run.refused == 0);
  CHECK(r.run.other_refused == 0);
  CHECK(r.quality.back().psnr >= r.mean.psnr + 10);
}

// Needs the site's defences (dist/site.cpp: site.privacy.*): fails against a site without them.
TEST_CASE("attack probe: with clipping, noise and no L1 term, bisection does no better than the mean image (needs the site's defences)") {
  ScratchDir dir("probe_defended");
  dist::TrainOptions o = today();
  o.site.privacy.clip = 1;
  o.site.privacy.sigma = 1;
  o.site.privacy.drop_l1 = true;
  Probe probe(write_probe_shard(dir, 6), o);
  const auto r = probe.attack(bisect());
  MESSAGE("defended: bisect PSNR at 12 answers " << r.quality.back().psnr << "; mean image " << r.mean.psnr);
  CHECK(r.run.refused == 0);
  CHECK(r.quality.back().psnr <= r.mean.psnr + 1);
}

// Needs the site's rate limit (dist/site.cpp: site.max_queries_per_sample): fails against a site without it.
TEST_CASE("attack probe: rows the site refuses (max_queries_per_sample 1, no interleave) are counted and leave the estimate as it was") {
  ScratchDir dir("probe_refused_site");
  dist::TrainOptions o = today();
  o.site.max_queries_per_sample = 1;
  Probe probe(write_probe_shard(dir, 6), o);
  const auto r = probe.attack(bisect({1, 2, 4}));
  CHECK(r.run.refused == 3);
  CHECK(r.run.snapshots[1].refused == 1);
  CHECK(r.run.first_refusal.find("max_queries_per_sample") != std::string::npos);
  CHECK(r.run.snapshots[1].estimate == r.run.snapshots[0].estimate);
  CHECK(r.run.snapshots[2].estimate == r.run.snapshots[0].estimate);
}

namespace {

// Flags every row of the gradients answering the listed requests as refused, keeping their (informative) values:
// an attacker that read a refused row would move.
class RefusingChannel : public dist::CentralChannel {
 public:
  RefusingChannel(dist::CentralChannel& inner, std::set<int64_t> steps) : inner_(inner), steps_(std::move(steps)) {}
  int64_t num_sites() const override { return inner_.num_sites(); }
  void send(int64_t site, const dist::ToSite& m) override { inner_.send(site, m); }
  dist::ToCentral receive(int64_t site, dist::Timeout timeout) override {
    dist::ToCentral m = inner_.receive(site, timeout);
    if (auto* g = std::get_if<dist::Gradient>(&m); g && steps_.count(g->step)) {
      g->refused.assign(static_cast<size_t>(g->grad.size(0)), 1);
      g->refusal = "refused by the test";
    }
    return m;
  }
  dist::Incoming receive_any(dist::Timeout timeout) override { return inner_.receive_any(timeout); }
  void close(int64_t site) override { inner_.close(site); }
  dist::Traffic traffic() const override { return inner_.traffic(); }
  void receive_on(Device device) override { inner_.receive_on(device); }

 private:
  dist::CentralChannel& inner_;
  std::set<int64_t> steps_;
};

}  // namespace

TEST_CASE("attack probe: a refused row carries no information, whatever its values: the estimate stays and the refusal is counted") {
  ScratchDir dir("probe_refused_rows");
  for (ProbeMethod m : {ProbeMethod::bisect, ProbeMethod::invert}) {
    CAPTURE(probe_method_name(m));
    Probe probe(write_probe_shard(dir, 6), today());
    RefusingChannel refusing(probe.channel.central(), {2, 3});  // the 2nd and 3rd requests (one row each)
    ProbeOptions p = bisect({1, 2, 3, 4});
    p.method = m;
    const auto r = probe.attack(p, &refusing);
    CHECK(r.run.refused == 2);
    CHECK(r.run.first_refusal == "refused by the test");
    CHECK(r.run.snapshots[1].refused == 1);
    CHECK(r.run.snapshots[2].refused == 2);
    CHECK(r.run.snapshots[1].estimate == r.run.snapshots[0].estimate);
    CHECK(r.run.snapshots[2].estimate == r.run.snapshots[0].estimate);
    CHECK(r.run.snapshots[3].estimate != r.run.snapshots[0].estimate);  // answered again: it moves
  }
}

TEST_CASE("attack probe: the verb runs end to end on a tiny shard and writes probe.json and probe.png") {
  ScratchDir dir("probe_cli");
  const std::string shard = write_probe_shard(dir, 5);
  const std::string config = dir.file("run.toml"), out = dir.file("out"), log = dir.file("log.txt");
  std::ofstream(config) << "[model]\nndf = 8\nd_layers = 2\nnorm = \"instance\"\n[train]\nseed = 3\n";
  const auto r = test::run_cli("attack probe --shard " + shard + " --config " + config +
                                   " --sample 1 --budget 1,4,12 --method both --interleave --out " + out, log);
  REQUIRE_MESSAGE(r.code == 0, r.output);
  MESSAGE(r.output);
  CHECK(r.output.find("base PSNR") != std::string::npos);
  const Json j = parse_json(test::read_text_file(out + "/probe.json"), out + "/probe.json");
  const double base = j.at("baseline").at("mean_image").at("psnr").get<double>();
  CHECK(j.at("baseline").contains("mid_grey"));
  for (const char* m : {"bisect", "invert"}) {
    const Json& rows = j.at("methods").at(m).at("budgets");
    REQUIRE(rows.size() == 3);
    CHECK(rows[2].at("budget").get<int64_t>() == 12);
    CHECK(rows[2].at("refused").get<int64_t>() == 0);
  }
  // bf16 on the wire (the config's default) caps what bisection can read, still far above the mean image.
  CHECK(j.at("methods").at("bisect").at("budgets")[2].at("psnr").get<double>() >= base + 10);
  std::ifstream png(out + "/probe.png", std::ios::binary);
  char sig[8] = {};
  png.read(sig, 8);
  CHECK(std::string(sig + 1, 3) == "PNG");
}

TEST_CASE("attack probe: a sample out of range and a shard without training samples are errors naming the fix") {
  ScratchDir dir("probe_cli_errors");
  const std::string config = dir.file("run.toml"), log = dir.file("log.txt");
  std::ofstream(config) << "[model]\nndf = 8\nd_layers = 2\n";
  const std::string shard = write_probe_shard(dir, 3);
  auto r = test::run_cli("attack probe --shard " + shard + " --config " + config + " --sample 3 --out " + dir.file("o"), log);
  CHECK(r.code == 1);
  CHECK(r.output.find("--sample 3 is out of range") != std::string::npos);
  CHECK(r.output.find("pick one of 0..2") != std::string::npos);
  ScratchDir val_only("probe_cli_errors_val");
  const std::string empty = write_probe_shard(val_only, 2, 32, {0, 1});
  r = test::run_cli("attack probe --shard " + empty + " --config " + config + " --out " + dir.file("o"), log);
  CHECK(r.code == 1);
  CHECK(r.output.find("holds no training sample") != std::string::npos);
  CHECK(r.output.find("train split") != std::string::npos);
}
