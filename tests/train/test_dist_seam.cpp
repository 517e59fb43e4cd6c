// The seam between the roles: the run contract refuses a differing site by name, keys come from each site's own
// secret, learning rates and checkpoints travel as control messages, and gradients may arrive in any order.
#include <doctest/doctest.h>
#include <cmath>
#include <map>
#include "dist/contract.h"
#include "dist/site_secret.h"
#include "train/dist_fixture.h"

using namespace asyndgan;
using namespace asyndgan::dist;
using asyndgan::test::ScratchDir;
using asyndgan::test::TapChannel;

namespace {

// A central node and its sites on an in-process channel (tapped), each site with its own options.
struct Run {
  InProcessChannel ch;
  TapChannel tap;
  std::unique_ptr<Central> central;
  std::vector<std::unique_ptr<Site>> sites;
  Run(const std::vector<std::string>& shards, const TrainOptions& central_options, const std::vector<TrainOptions>& site_options,
      const std::vector<uint64_t>& secrets)
      : ch(static_cast<int64_t>(shards.size()), central_options.wire_dtype), tap(ch.central()) {
    manual_seed(central_options.seed);
    central = std::make_unique<Central>(test::tiny_generator(4, 2), tap, central_options);
    for (size_t j = 0; j < shards.size(); ++j) {
      sites.push_back(std::make_unique<Site>(data::Shard::open(shards[j]), ch.site(static_cast<int64_t>(j)), site_options[j],
                                             test::tiny_discriminator, secrets[j]));
      sites.back()->connect();
    }
  }
};

}  // namespace

TEST_CASE("dist: a site whose run contract differs is refused with a message naming the differing keys") {
  ScratchDir dir("dist_seam_contract");
  const std::vector<std::string> shards = {test::write_dist_shard(dir, "a", 3), test::write_dist_shard(dir, "b", 3)};
  TrainOptions o;
  o.contract = {{"model.ngf", "8"}};
  TrainOptions other = o;
  other.lambda_l1 = 10;
  other.contract = {{"model.ngf", "16"}};
  Run run(shards, o, {o, other}, {1, 2});
  CHECK_THROWS_WITH_AS(run.central->connect(),
                       doctest::Contains("site 'b' has another run contract: loss.lambda_l1 (central 100, site 10); model.ngf "
                                         "(central 8, site 16)"),
                       ValueError);
  // The site is told why (a Failure, then the link is closed) and says so when it next serves.
  CHECK_THROWS_WITH_AS(run.sites[1]->serve_one(), doctest::Contains("loss.lambda_l1"), Error);
  CHECK(std::holds_alternative<Failure>(run.tap.down.back().second));
  // A site's own settings (device, precision) are declared, not part of the contract.
  const Hello& h = std::get<Hello>(run.tap.up[0].second);
  CHECK(h.declared == Settings{{"device", "cpu"},
                               {"precision", "fp32"},
                               {"site.privacy.clip", "0"},
                               {"site.privacy.sigma", "0"},
                               {"site.privacy.epsilon", "0"},
                               {"site.privacy.delta", "1e-05"},
                               {"site.privacy.drop_l1", "false"},
                               {"site.max_queries_per_sample", "2"}});
  CHECK(h.contract_hash == contract_hash(run_contract(o)));
  CHECK(contract_differences(run_contract(o), run_contract(o)).empty());
  // Only the wire dtype differs: refused too, since the bytes would not decode.
  TrainOptions bf16 = o;
  bf16.wire_dtype = WireDtype::bf16;
  CHECK(contract_differences(run_contract(o), run_contract(bf16)) == "dist.wire_dtype (central fp32, site bf16)");
}

TEST_CASE("dist: a site's keys come from its own secret, which its state keeps, not from the run's seed") {
  ScratchDir dir("dist_seam_secret");
  const std::string shard = test::write_dist_shard(dir, "a", 6);
  TrainOptions o;
  auto keys_for = [&](uint64_t secret, uint64_t seed) {
    TrainOptions so = o;
    so.seed = seed;
    InProcessChannel ch(1, WireDtype::f32);
    Site s(data::Shard::open(shard), ch.site(0), so, test::tiny_discriminator, secret);
    s.connect();
    ch.central().receive(0, kWaitLong);
    return std::get<ConditionUpload>(ch.central().receive(0, kWaitLong)).keys;
  };
  const auto k1 = keys_for(11, 0);
  CHECK(keys_for(11, 5) == k1);  // the seed, which the central node knows, does not enter
  CHECK(keys_for(12, 0) != k1);  // another secret: other keys
  CHECK(new_site_secret() != new_site_secret());
  // Resuming a site under another secret is refused: the central node's keys would no longer match.
  InProcessChannel ch(1, WireDtype::f32);
  Site a(data::Shard::open(shard), ch.site(0), o, test::tiny_discriminator, 11);
  Site b(data::Shard::open(shard), ch.site(0), o, test::tiny_discriminator, 12);
  Checkpoint ckpt;
  a.save_state(ckpt, "s.");
  CHECK_THROWS_WITH_AS(b.load_state(ckpt, "s."), doctest::Contains("another site secret"), ValueError);
  CHECK_NOTHROW(a.load_state(ckpt, "s."));
}

TEST_CASE("dist: learning rates reach the sites as control messages, sent only when they change") {
  ScratchDir dir("dist_seam_lr");
  SimulationSpec spec = test::tiny_spec({test::write_dist_shard(dir, "a", 4), test::write_dist_shard(dir, "b", 3)});
  Simulation sim(spec);
  const Traffic before = sim.traffic();
  sim.set_lr(1e-3, 5e-4);
  sim.step();
  CHECK(sim.site(0).lr() == 5e-4);
  CHECK(sim.site(1).lr() == 5e-4);
  CHECK(sim.central().optimizer().lr() == 1e-3);
  sim.set_lr(1e-3, 5e-4);  // unchanged: nothing sent
  sim.step();
  const auto control = static_cast<size_t>(MessageType::control);
  CHECK(sim.traffic().messages[0][control] - before.messages[0][control] == 1);
  sim.set_lr(1e-3, 2.5e-4);
  sim.step();
  CHECK(sim.site(1).lr() == 2.5e-4);
}

TEST_CASE("dist: the update does not depend on the order in which the sites' gradients arrive") {
  ScratchDir dir("dist_seam_order");
  const std::vector<std::string> shards = {test::write_dist_shard(dir, "a", 4), test::write_dist_shard(dir, "b", 5, 16, false, 0.2f),
                                           test::write_dist_shard(dir, "c", 3, 16, true)};
  TrainOptions o;
  o.seed = 4;
  o.batch_per_site = 2;
  auto run = [&](bool reversed) {
    Run r(shards, o, {o, o, o}, {1, 2, 3});
    r.central->connect();
    r.central->start();
    for (auto& s : r.sites) s->serve_one();
    for (int step = 0; step < 3; ++step) {
      r.central->begin_step();
      std::vector<int64_t> order = r.central->requested_sites();
      if (reversed) std::reverse(order.begin(), order.end());
      for (int64_t j : order) r.sites[static_cast<size_t>(j)]->serve_request();
      r.central->finish_step();
    }
    std::vector<double> w;
    for (const Tensor& p : r.central->generator().parameters()) {
      const auto v = p.to_doubles();
      w.insert(w.end(), v.begin(), v.end());
    }
    return w;
  };
  CHECK(run(false) == run(true));
}

TEST_CASE("dist: a bf16 wire halves the bytes of synthetic images and gradients and still trains") {
  ScratchDir dir("dist_seam_bf16");
  SimulationSpec spec = test::tiny_spec({test::write_dist_shard(dir, "a", 4), test::write_dist_shard(dir, "b", 3)});
  Simulation exact(spec);
  spec.options.wire_dtype = WireDtype::bf16;
  Simulation half(spec);
  const StepReport e = exact.step(), h = half.step();
  const auto request = static_cast<size_t>(MessageType::request), gradient = static_cast<size_t>(MessageType::gradient);
  const int64_t values = 2 * 16 * 16;  // one sample, two modalities
  CHECK(e.sites[0].bytes[request] - h.sites[0].bytes[request] == static_cast<uint64_t>(2 * values));
  CHECK(e.sites[0].bytes[gradient] - h.sites[0].bytes[gradient] == static_cast<uint64_t>(2 * values));
  // The same step in bf16: close to f32 (the D sees G's output rounded to 8 bits of mantissa), not identical.
  CHECK(h.sites[0].stats.d_loss == doctest::Approx(e.sites[0].stats.d_loss).epsilon(1e-2));
  CHECK(h.sites[0].stats.g_l1 != e.sites[0].stats.g_l1);
}

TEST_CASE("dist: a site whose loss turns non-finite tells the central node, which applies no update, naming the step and site") {
  ScratchDir dir("seam_nonfinite");
  TrainOptions o;
  o.seed = 7;
  o.batch_per_site = 2;
  Run run({test::write_dist_shard(dir, "SiteA", 6), test::write_dist_shard(dir, "SiteB", 6)}, o, {o, o}, {1, 2});
  run.central->connect();
  // SiteB's first discriminator (t1) gets a NaN weight: its loss is NaN from the first step on.
  Checkpoint ck;
  run.sites[1]->save_state(ck, "s.");
  for (auto& [name, t] : ck.tensors)
    if (name.rfind("s.d0.", 0) == 0 && name.find("weight") != std::string::npos) {
      t = t.clone();
      t.fill_(std::nan(""));
    }
  run.sites[1]->load_state(ck, "s.");
  std::map<std::string, std::vector<double>> before;
  for (const auto& [k, v] : run.central->generator().state_dict()) before[k] = v.to_doubles();

  run.central->begin_step();
  CHECK(run.sites[0]->serve_request() == Served::request);
  try {
    run.sites[1]->serve_request();
    FAIL("no error for a NaN loss");
  } catch (const NonFiniteError& e) {
    const std::string what = e.what();
    // NaN's sign bit differs between builds (-nan or nan): only the name and the kind are checked.
    CHECK_MESSAGE(what.find("site 'SiteB': step 0: not finite: D loss (t1) = ") != std::string::npos, what);
    CHECK_MESSAGE(what.find("nan") != std::string::npos, what);
    CHECK_MESSAGE(what.find("resume from the latest checkpoint") != std::string::npos, what);
  }
  try {
    run.central->finish_step();
    FAIL("the central node took the step");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK_MESSAGE(what.find("failed and left the run: site 'SiteB': step 0: not finite") != std::string::npos, what);
  }
  for (const auto& [k, v] : run.central->generator().state_dict()) CHECK_MESSAGE(v.to_doubles() == before.at(k), k);
}

TEST_CASE("dist: an in-process channel that carries tensors gives the byte channel's losses, weights and byte counts, bit for bit") {
  ScratchDir dir("seam_carry");
  const std::vector<std::string> shards = {test::write_dist_shard(dir, "SiteA", 6), test::write_dist_shard(dir, "SiteB", 5, 16, true)};
  for (WireDtype wire : {WireDtype::f32, WireDtype::bf16}) {
    CAPTURE(wire_dtype_name(wire));
    std::vector<std::vector<StepReport>> reports(2);
    std::vector<std::map<std::string, std::vector<double>>> weights(2);
    std::vector<Traffic> traffic(2);
    for (int mode = 0; mode < 2; ++mode) {
      SimulationSpec spec = test::tiny_spec(shards);
      spec.options.batch_per_site = 2;
      spec.options.wire_dtype = wire;
      spec.carry = mode == 0 ? InProcessChannel::Carry::bytes : InProcessChannel::Carry::tensors;
      Simulation sim(spec);
      for (int i = 0; i < 4; ++i) reports[static_cast<size_t>(mode)].push_back(sim.step());
      for (const auto& [k, v] : sim.central().generator().state_dict()) weights[static_cast<size_t>(mode)][k] = v.to_doubles();
      traffic[static_cast<size_t>(mode)] = sim.traffic();
    }
    CHECK(weights[0] == weights[1]);
    CHECK(traffic[0].bytes == traffic[1].bytes);
    CHECK(traffic[0].messages == traffic[1].messages);
    for (size_t i = 0; i < reports[0].size(); ++i)
      for (size_t j = 0; j < reports[0][i].sites.size(); ++j) {
        const SiteReport &a = reports[0][i].sites[j], &b = reports[1][i].sites[j];
        CHECK(a.stats == b.stats);
        CHECK(a.bytes == b.bytes);
        CHECK(a.weight == b.weight);
      }
  }
}

TEST_CASE("dist: encoded_size is the length of the encoding, and carried is what decode gives") {
  Generator gen(3);
  Request r;
  r.step = 9;
  r.crop = 8;
  r.keys = {1, 2};
  r.aug = {{0, 1, true}, {2, 0, false}};
  r.synthetic = Tensor::randn({2, 2, 8, 8}, gen).narrow(1, 0, 2);
  Gradient g;
  g.step = 9;
  g.samples = 2;
  g.grad = Tensor::randn({2, 2, 8, 8}, gen);
  g.stats.d_loss = 0.25;
  ConditionUpload up;
  up.keys = {5, 6, 7};
  up.conditions = Tensor::zeros({3, 4, 8, 8}, DType::u8);
  for (WireDtype wire : {WireDtype::f32, WireDtype::bf16, WireDtype::f16}) {
    CAPTURE(wire_dtype_name(wire));
    for (const ToSite& m : {ToSite{r}, ToSite{Control{ControlKind::set_lr, 3, 1e-4}}, ToSite{Failure{"why"}}}) {
      const std::vector<uint8_t> bytes = encode(m, wire);
      CHECK(encoded_size(m, wire) == bytes.size());
      CHECK(step_of(m) == peek_step(bytes));
      CHECK(encode(carried(m, wire), wire) == bytes);  // rounding twice changes nothing
    }
    for (const ToCentral& m : {ToCentral{g}, ToCentral{up}, ToCentral{Hello{}}}) {
      const std::vector<uint8_t> bytes = encode(m, wire);
      CHECK(encoded_size(m, wire) == bytes.size());
      CHECK(step_of(m) == peek_step(bytes));
      CHECK(encode(carried(m, wire), wire) == bytes);
    }
    const Gradient back = std::get<Gradient>(decode_to_central(encode(ToCentral{g}, wire), wire));
    CHECK(std::get<Gradient>(carried(ToCentral{g}, wire)).grad.to_vector<float>() == back.grad.to_vector<float>());
  }
}
