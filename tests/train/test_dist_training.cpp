// Whole-run tests of the in-process simulation: resume is bit-identical (through a checkpoint file), the
// per-step report carries bytes per message type, and a short run learns (L1 to real falls).
#include <doctest/doctest.h>
#include "engine/io/checkpoint.h"
#include "models/factory.h"
#include "train/dist_fixture.h"

using namespace asyndgan;
using namespace asyndgan::dist;
using asyndgan::test::ScratchDir;

namespace {

// Pix2pix's own networks at toy size: a 6-level U-Net with batch norm and dropout (so the checkpoint must
// carry running statistics and the dropout stream) and a 2-layer PatchGAN.
SimulationSpec models_spec(std::vector<std::string> shards) {
  SimulationSpec spec = test::tiny_spec(std::move(shards));
  spec.make_generator = [](int64_t in, int64_t out) {
    models::GeneratorConfig c;
    c.in_channels = in;
    c.out_channels = out;
    c.ngf = 4;
    c.image_size = 64;  // depth 6: one decoder block with dropout
    return models::build_generator(c);
  };
  spec.make_discriminator = [](int64_t in) {
    models::DiscriminatorConfig c;
    c.in_channels = in;
    c.ndf = 4;
    c.n_layers = 2;
    return models::build_discriminator(c);
  };
  return spec;
}

std::vector<double> stats_of(const StepReport& r) {
  std::vector<double> v;
  for (const auto& s : r.sites)
    v.insert(v.end(), {s.stats.d_loss, s.stats.g_gan, s.stats.g_l1, s.stats.g_loss, s.stats.d_real, s.stats.d_fake, s.weight});
  return v;
}

}  // namespace

TEST_CASE("dist: N steps, checkpoint, a fresh simulation resumes, N more steps == 2N straight, bit for bit") {
  ScratchDir dir("dist_resume");
  SimulationSpec spec = models_spec({test::write_dist_shard(dir, "a", 5, 64), test::write_dist_shard(dir, "b", 3, 64, true, 0.3f)});
  spec.options.sampling = data::Sampling::uniform;
  spec.options.flip = true;
  spec.options.batch_per_site = 2;
  spec.options.gan_loss = models::GanMode::lsgan;
  constexpr int N = 3;

  Simulation straight(spec);
  std::vector<std::vector<double>> want;
  for (int i = 0; i < 2 * N; ++i) want.push_back(stats_of(straight.step()));

  std::vector<std::vector<double>> got;
  {
    Simulation first(spec);
    for (int i = 0; i < N; ++i) got.push_back(stats_of(first.step()));
    Checkpoint ck;
    first.save(ck);
    save_checkpoint(dir.file("run.ckpt"), ck);
  }
  Simulation resumed(spec);
  resumed.load(load_checkpoint(dir.file("run.ckpt")));
  CHECK(resumed.steps_done() == N);
  for (int i = 0; i < N; ++i) {
    const StepReport r = resumed.step();
    CHECK(r.step == N + i);
    got.push_back(stats_of(r));
  }
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == want[i]);
  const auto a = straight.central().generator().state_dict(), b = resumed.central().generator().state_dict();
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].second.to_doubles() == b[i].second.to_doubles());
  Checkpoint sa, sb;
  straight.site(0).save_state(sa, "");
  resumed.site(0).save_state(sb, "");
  for (const auto& [k, t] : sa.tensors) CHECK(t.to_doubles() == sb.tensors.at(k).to_doubles());
}

TEST_CASE("dist: a step reports per-site statistics and bytes per message type") {
  ScratchDir dir("dist_report");
  SimulationSpec spec = test::tiny_spec({test::write_dist_shard(dir, "a", 4), test::write_dist_shard(dir, "b", 2, 16, true)});
  spec.options.batch_per_site = 2;
  Simulation sim(spec);
  const StepReport r = sim.step();
  REQUIRE(r.sites.size() == 2);
  CHECK(r.sites[0].site == "a");
  CHECK(r.sites[1].participated);
  const uint64_t fakes = 2 + 8 + 8 + 8 + 2 * 17 + 1 + 4 + 32 + 2 * 2 * 16 * 16 * 4;
  const uint64_t grads = 2 + 8 + 8 + 48 + 1 + 4 + 32 + 2 * 2 * 16 * 16 * 4 + 21;  // + the policy fields
  for (const auto& s : r.sites) {
    CHECK(s.bytes[static_cast<size_t>(MessageType::request)] == fakes);
    CHECK(s.bytes[static_cast<size_t>(MessageType::gradient)] == grads);
    CHECK(s.bytes[static_cast<size_t>(MessageType::conditions)] == 0);  // uploaded once, before the first step
    CHECK(s.stats.d_real > 0);
    CHECK(s.stats.d_real < 1);
    CHECK(s.stats.g_loss == doctest::Approx(s.stats.g_gan * (s.site == "a" ? 2 : 1) + 100 * s.stats.g_l1 * (s.site == "a" ? 2 : 1)));
  }
  const Traffic t = sim.traffic();
  CHECK(t.bytes[0][static_cast<size_t>(MessageType::conditions)] == 2 + 8 + 4 * 8 + 1 + 4 + 32 + 4 * 4 * 16 * 16);
}

TEST_CASE("dist: smoke: a short simulated run cuts the L1 to real images by 3x within 60 steps") {
  ScratchDir dir("dist_smoke");
  SimulationSpec spec = test::tiny_spec({test::write_dist_shard(dir, "a", 8), test::write_dist_shard(dir, "b", 6, 16, false, 0.1f),
                                         test::write_dist_shard(dir, "c", 4, 16, true)});
  spec.options.batch_per_site = 4;
  spec.options.flip = true;
  spec.options.adam_g.lr = 2e-3;  // toy networks learn the toy mapping in tens of steps at 10x pix2pix's rate
  Simulation sim(spec);
  auto mean_l1 = [](const StepReport& r) {
    double s = 0;
    for (const auto& x : r.sites) s += x.stats.g_l1;
    return s / static_cast<double>(r.sites.size());
  };
  const double first = mean_l1(sim.step());
  double last = 0;
  for (int i = 1; i < 60; ++i) {
    const double l = mean_l1(sim.step());
    if (i >= 55) last += l / 5;
  }
  MESSAGE("smoke: mean L1 to real ", first, " at step 0, ", last, " over steps 55-59");
  CHECK(last < first / 3);
}
