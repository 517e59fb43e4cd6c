// Central and Site behaviour: what a site sends (only hello, conditions, gradient, of the protocol's
// shapes and exact sizes: no room for an image), opaque keys, zero gradient and no discriminator for a
// missing modality, the central node's crop/flip matching the site's, and the pi-weighted aggregation.
#include <doctest/doctest.h>
#include <set>
#include "engine/autograd.h"
#include "engine/ops.h"
#include "dist/site_secret.h"
#include "train/dist_fixture.h"

using namespace asyndgan;
using namespace asyndgan::dist;
using asyndgan::test::ScratchDir;
using asyndgan::test::TapChannel;

namespace {

struct Rig {  // a Central on a tapped in-process channel, and its sites
  InProcessChannel ch;
  TapChannel tap;
  std::vector<std::shared_ptr<data::Shard>> shards;
  std::unique_ptr<Central> central;
  std::vector<std::unique_ptr<Site>> sites;

  Rig(const std::vector<std::string>& paths, const TrainOptions& o)
      : ch(static_cast<int64_t>(paths.size()), o.wire_dtype), tap(ch.central(), o.wire_dtype) {
    manual_seed(o.seed);
    central = std::make_unique<Central>(test::tiny_generator(4, 2), tap, o);
    for (size_t j = 0; j < paths.size(); ++j) {
      shards.push_back(data::Shard::open(paths[j]));
      sites.push_back(std::make_unique<Site>(shards.back(), ch.site(static_cast<int64_t>(j)), o, test::tiny_discriminator,
                                             simulation_site_secret(o.seed, static_cast<int64_t>(j))));
      sites.back()->connect();
    }
    central->connect();
    central->start();
    for (auto& s : sites) CHECK(s->serve_one() == Served::start);
  }
  StepResult step() {
    central->begin_step();
    for (int64_t j : central->requested_sites()) sites[static_cast<size_t>(j)]->serve_request();
    return central->finish_step();
  }
};

}  // namespace

TEST_CASE("dist: a site sends only hello, conditions and gradients, sized for conditions and fakes, never images") {
  ScratchDir dir("dist_roles_only");
  TrainOptions o;
  o.seed = 3;
  o.batch_per_site = 2;
  o.crop = 12;
  o.flip = true;
  Rig rig({test::write_dist_shard(dir, "a", 5, 16, false, 0.0f, 5), test::write_dist_shard(dir, "b", 3)}, o);
  for (int i = 0; i < 3; ++i) rig.step();
  rig.central->stop();
  for (auto& s : rig.sites) CHECK(s->serve_one() == Served::stop);

  std::set<MessageType> sent;
  for (const auto& [site, m] : rig.tap.up) sent.insert(type_of(m));
  CHECK(sent == std::set<MessageType>{MessageType::hello, MessageType::conditions, MessageType::gradient});
  for (int64_t j = 0; j < 2; ++j) {
    const Traffic t = rig.ch.site(j).traffic();
    CHECK(t.messages[0][static_cast<size_t>(MessageType::gradient)] == 3);
    CHECK(t.messages[0][static_cast<size_t>(MessageType::conditions)] == 1);
  }
  // Site a: 5 samples, the fifth in the val split: only its 4 training samples' conditions go up, as u8.
  const auto& up = std::get<ConditionUpload>(rig.tap.up[1].second);
  CHECK(up.conditions.dtype() == DType::u8);
  CHECK(up.conditions.shape() == Shape{4, 4, 16, 16});
  CHECK(rig.central->sites()[0].samples == 4);
  // Keys are random 64-bit values, not sample indices or slice numbers.
  for (uint64_t k : up.keys) CHECK(k > 1000000);
  // Every request's synthetic images and every answer's gradient are [b, modalities, crop, crop] f32, and
  // a site's whole upstream traffic is exactly the size of those messages: no byte left for anything else.
  uint64_t expected_up = 0;
  for (const auto& [site, m] : rig.tap.up)
    if (site == 0) expected_up += encode(m).size();
  for (const auto& [site, m] : rig.tap.up)
    if (const auto* g = std::get_if<Gradient>(&m)) {
      CHECK(g->grad.shape() == Shape{2, 2, 12, 12});
      CHECK(encode(m).size() == 2 + 8 + 8 + 48 + 1 + 4 + 32 + 2 * 2 * 12 * 12 * 4 + 21);  // + the policy fields
    }
  const Traffic t = rig.ch.site(0).traffic();
  uint64_t up_bytes = 0;
  for (MessageType m : {MessageType::hello, MessageType::conditions, MessageType::gradient}) up_bytes += t.bytes[0][static_cast<size_t>(m)];
  CHECK(up_bytes == expected_up);
  for (const auto& [site, m] : rig.tap.down)
    if (const auto* r = std::get_if<Request>(&m)) CHECK(r->synthetic.shape() == Shape{2, 2, 12, 12});
}

TEST_CASE("dist: the central node crops and mirrors a site's conditions exactly as the site's make_batch does") {
  ScratchDir dir("dist_roles_crop");
  TrainOptions o;
  o.seed = 11;
  o.batch_per_site = 3;
  o.crop = 10;
  o.flip = true;
  Rig rig({test::write_dist_shard(dir, "a", 6)}, o);
  rig.central->begin_step();
  const auto& r = std::get<Request>(rig.tap.down.back().second);
  const auto& up = std::get<ConditionUpload>(rig.tap.up[1].second);
  std::vector<int64_t> positions, indices;
  for (uint64_t k : r.keys) {
    const auto p = std::find(up.keys.begin(), up.keys.end(), k) - up.keys.begin();
    positions.push_back(p);
    indices.push_back(up.conditions.data<uint8_t>()[((p * 4 + 3) * 16) * 16]);  // the id channel holds the index
  }
  const Tensor x = rig.central->conditions(0, positions, r.aug);
  const data::Batch b = data::make_batch(*rig.shards[0], indices, r.aug, o.crop);
  CHECK(x.to_vector<float>() == b.condition.to_vector<float>());
  CHECK(std::any_of(r.aug.begin(), r.aug.end(), [](const data::CropFlip& a) { return a.flip || a.top || a.left; }));
  rig.sites[0]->serve_one();
  rig.central->finish_step();
}

TEST_CASE("dist: a site lacking a modality has no discriminator for it and returns exactly zero gradient there") {
  ScratchDir dir("dist_roles_missing");
  TrainOptions o;
  o.seed = 5;
  o.batch_per_site = 2;
  Rig rig({test::write_dist_shard(dir, "full", 4), test::write_dist_shard(dir, "no_t2", 4, 16, true)}, o);
  CHECK(rig.sites[0]->num_discriminators() == 2);
  CHECK(rig.sites[1]->num_discriminators() == 1);
  CHECK(rig.sites[1]->modalities() == std::vector<std::string>{"t1"});
  CHECK(rig.central->sites()[1].has_modality == std::vector<uint8_t>{1, 0});
  rig.step();
  int checked = 0;
  for (const auto& [site, m] : rig.tap.up)
    if (const auto* g = std::get_if<Gradient>(&m)) {
      const Tensor t1 = g->grad.narrow(1, 0, 1).contiguous(), t2 = g->grad.narrow(1, 1, 1).contiguous();
      const auto v1 = t1.to_vector<float>(), v2 = t2.to_vector<float>();
      const bool t1_nonzero = std::any_of(v1.begin(), v1.end(), [](float v) { return v != 0; });
      const bool t2_nonzero = std::any_of(v2.begin(), v2.end(), [](float v) { return v != 0; });
      CHECK(t1_nonzero);
      CHECK(t2_nonzero == (site == 0));
      ++checked;
    }
  CHECK(checked == 2);
  // A joint discriminator over the site's channels: one per site.
  TrainOptions joint = o;
  joint.discriminators = DiscriminatorLayout::joint;
  Rig rj({test::write_dist_shard(dir, "full", 4), test::write_dist_shard(dir, "no_t2", 4, 16, true)}, joint);
  CHECK(rj.sites[0]->num_discriminators() == 1);
  rj.step();
  // No site with a modality at all is refused: nothing would train that channel.
  InProcessChannel ch(1, WireDtype::f32);
  auto shard = data::Shard::open(test::write_dist_shard(dir, "only", 2, 16, true));
  Central c(test::tiny_generator(4, 2), ch.central(), o);
  Site s(shard, ch.site(0), o, test::tiny_discriminator, 1);
  s.connect();
  CHECK_THROWS_WITH_AS(c.connect(), doctest::Contains("no site has modality 't2'"), ValueError);
  CHECK_THROWS_WITH_AS(Site(shard, ch.site(0), o, test::tiny_discriminator, 1, {"flair"}), doctest::Contains("flair"), ValueError);
}

TEST_CASE("dist: the generator's gradient is the pi-weighted sum of each site's gradient backpropagated alone") {
  ScratchDir dir("dist_roles_weights");
  for (Weighting weighting : {Weighting::size, Weighting::equal}) {
    TrainOptions o;
    o.seed = 9;
    o.batch_per_site = 2;
    o.weighting = weighting;
    Rig rig({test::write_dist_shard(dir, "small", 3), test::write_dist_shard(dir, "large", 9, 16, false, 0.2f)}, o);
    nn::Module& g = rig.central->generator();
    auto before = test::tiny_generator(4, 2);
    before->load_state_dict(g.state_dict());
    const size_t first_down = rig.tap.down.size(), first_up = rig.tap.up.size();
    const StepResult res = rig.step();
    const double w0 = weighting == Weighting::size ? 3.0 / 12 : 0.5, w1 = weighting == Weighting::size ? 9.0 / 12 : 0.5;
    CHECK(res.sites[0].weight == doctest::Approx(w0));
    CHECK(res.sites[1].weight == doctest::Approx(w1));
    CHECK(rig.central->weight(0) == doctest::Approx(w0));

    // Each site's contribution alone: G before the step, that site's conditions, its returned gradient.
    std::vector<std::vector<double>> expected;
    for (const Tensor& p : before->parameters()) expected.emplace_back(static_cast<size_t>(p.numel()), 0.0);
    for (size_t d = first_down; d < rig.tap.down.size(); ++d) {
      const auto [site, m] = rig.tap.down[d];
      const auto& r = std::get<Request>(m);
      const auto& up = std::get<ConditionUpload>(rig.tap.up[static_cast<size_t>(2 * site + 1)].second);
      std::vector<int64_t> positions;
      for (uint64_t k : r.keys) positions.push_back(std::find(up.keys.begin(), up.keys.end(), k) - up.keys.begin());
      const Gradient* grad = nullptr;
      for (size_t u = first_up; u < rig.tap.up.size(); ++u)
        if (rig.tap.up[u].first == site) grad = &std::get<Gradient>(rig.tap.up[u].second);
      REQUIRE(grad != nullptr);
      before->zero_grad();
      before->forward(rig.central->conditions(site, positions, r.aug)).backward(grad->grad);
      const double w = site == 0 ? w0 : w1;
      const auto params = before->parameters();
      for (size_t i = 0; i < params.size(); ++i) {
        const auto gi = params[i].grad().to_doubles();
        for (size_t k = 0; k < gi.size(); ++k) expected[i][k] += w * gi[k];
      }
    }
    const auto params = g.parameters();
    double max_err = 0, max_ref = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      const auto got = params[i].grad().to_doubles();
      for (size_t k = 0; k < got.size(); ++k) {
        max_err = std::max(max_err, std::abs(got[k] - expected[i][k]));
        max_ref = std::max(max_ref, std::abs(expected[i][k]));
      }
    }
    CHECK(max_ref > 1e-3);
    CHECK(max_err <= 1e-5 * max_ref);
  }
}

TEST_CASE("dist: balance visits every site every step, uniform visits them in proportion to size") {
  Sampler bal({2, 5}, data::Sampling::balance, 3, 1, 0, 8, 8, false);
  for (int s = 0; s < 4; ++s) {
    const auto d = bal.next_step();
    REQUIRE(d.size() == 2);
    CHECK(d[0].positions.size() == 3);
    for (int64_t p : d[0].positions) CHECK((p >= 0 && p < 2));
  }
  Sampler uni({1, 3}, data::Sampling::uniform, 2, 1, 0, 8, 8, false);
  std::vector<int64_t> drawn(2, 0);
  for (int s = 0; s < 8; ++s)
    for (const auto& d : uni.next_step()) drawn[static_cast<size_t>(d.site)] += static_cast<int64_t>(d.positions.size());
  CHECK(drawn == std::vector<int64_t>{8, 24});  // 16 batches of 2: shares 1:3 exactly
  // An epoch of a site draws each sample once.
  Sampler one({6}, data::Sampling::balance, 6, 4, 0, 8, 8, false);
  auto d = one.next_step()[0].positions;
  std::sort(d.begin(), d.end());
  CHECK(d == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
}
