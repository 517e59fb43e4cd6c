// The golden AsynDGAN iteration (tests/golden/asyndgan_step_v1.safetensors) as a reusable check: one step
// through dist's Central and two Sites against PyTorch, on any device (train_tests: cpu; cuda_tests: cuda:0).
#pragma once
#include <doctest/doctest.h>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include "dist/sampler.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "engine/io/text.h"
#include "engine/nn/conv.h"
#include "models/factory.h"
#include "engine/op_test_util.h"
#include "train/dist_fixture.h"

namespace asyndgan::test::golden_step {

using namespace asyndgan::dist;

struct Golden {
  std::map<std::string, Tensor> t;
  std::map<std::string, std::string> meta;
  const Tensor& at(const std::string& k) const {
    auto it = t.find(k);
    if (it == t.end()) throw ValueError(msg("the golden file has no tensor '", k, "': regenerate it with make_model_golden.py"));
    return it->second;
  }
  Json json(const std::string& k) const { return parse_json(meta.at(k), "the golden metadata '" + k + "'"); }
  int64_t num(const std::string& k) const { return json(k).get<int64_t>(); }
  double number(const std::string& k) const { return json(k).get<double>(); }
};

inline const Golden& golden() {
  static const Golden g = [] {
    Golden f;
    f.t = load_safetensors(ASYNDGAN_GOLDEN_DIR "/asyndgan_step_v1.safetensors", &f.meta);
    return f;
  }();
  return g;
}

inline models::GeneratorConfig g_config(const Json& c) {
  models::GeneratorConfig g;
  g.kind = c.at("kind").get<std::string>();
  g.in_channels = c.at("in_channels").get<int64_t>();
  g.out_channels = c.at("out_channels").get<int64_t>();
  g.ngf = c.at("ngf").get<int64_t>();
  g.norm = c.at("norm").get<std::string>();
  g.dropout = c.at("dropout").get<bool>();
  g.image_size = c.at("image_size").get<int64_t>();
  return g;
}

inline models::DiscriminatorConfig d_config(const Json& c) {
  models::DiscriminatorConfig d;
  d.kind = c.at("kind").get<std::string>();
  d.in_channels = c.at("in_channels").get<int64_t>();
  d.ndf = c.at("ndf").get<int64_t>();
  d.n_layers = c.at("n_layers").get<int64_t>();
  d.norm = c.at("norm").get<std::string>();
  return d;
}

// The golden measure: max|actual - expected| / max(scale or max|expected|, 1e-6); NaN fails.
inline double golden_error(const Tensor& actual, const Tensor& expected, double scale = 0) {
  REQUIRE(actual.shape() == expected.shape());
  return relative_error(actual, expected, scale);
}

inline double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_doubles()) m = std::max(m, std::fabs(v));
  return m;
}

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::fabs(x[i] - y[i]) <= d)) d = std::fabs(x[i] - y[i]);
  return d;
}

// Per site: n samples, where slot b of the golden batch goes to shard index place[b] and every other
// sample is a zero filler (with the same availability, so the site infers the same modalities).
inline std::string write_site(const ScratchDir& dir, int64_t j, int64_t n, const std::vector<int64_t>& place, bool index_coded) {
  const Golden& g = golden();
  const Tensor x = g.at(msg("x/site", j)).contiguous(), real = g.at(msg("real/site", j)).contiguous();
  const std::vector<double> avail = g.at(msg("available/site", j)).to_doubles();
  const int64_t Cc = x.size(1), Cm = real.size(1), H = x.size(2), W = x.size(3), P = H * W;
  data::ShardHeader h;
  h.site = msg("golden", j);
  h.height = H;
  h.width = W;
  for (int64_t c = 0; c < Cc; ++c) h.condition_channels.push_back(msg("c", c));
  for (int64_t m = 0; m < Cm; ++m) h.image_channels.push_back(msg("m", m));
  uint32_t bits = 0;
  for (size_t m = 0; m < avail.size(); ++m)
    if (avail[m] > 0) bits |= 1u << m;
  const std::string path = dir.file(msg(h.site, index_coded ? ".probe" : "", ".shard"));
  data::ShardWriter w(path, h, data::ImageEncoding::f32);
  std::vector<float> cond(static_cast<size_t>(Cc * P)), img(static_cast<size_t>(Cm * P));
  for (int64_t i = 0; i < n; ++i) {
    auto slot = std::find(place.begin(), place.end(), i);
    if (index_coded) {  // the probe: every condition value is i / 255, so a drawn batch names its samples
      std::fill(cond.begin(), cond.end(), static_cast<float>(i) / 255.0f);
      std::fill(img.begin(), img.end(), 0.0f);
    } else if (slot != place.end()) {
      const int64_t b = slot - place.begin();
      std::copy_n(x.data<float>() + b * Cc * P, Cc * P, cond.begin());
      std::copy_n(real.data<float>() + b * Cm * P, Cm * P, img.begin());
    } else {
      std::fill(cond.begin(), cond.end(), 0.0f);
      std::fill(img.begin(), img.end(), 0.0f);
    }
    w.add(cond.data(), img.data(), {msg(h.site, "-", i), static_cast<int32_t>(i), data::Split::train, bits});
  }
  w.finish();
  return path;
}


// Two sites (site 1 without modality 1), tiny U-Net G, one PatchGAN per modality: builds them from the golden's
// initial weights with TrainOptions::device = `device`, runs one iteration and checks fakes, returned gradients,
// losses, weights, G grads and G/D after Adam. rel_floor raises the file's relative tolerance (1e-5, met by
// the CPU) to what another device's arithmetic is held to.
inline void check(Device device, double rel_floor = 0) {
  const Golden& g = golden();
  REQUIRE(g.meta.at("format") == "asyndgan-step-golden");
  REQUIRE(g.meta.at("gan_mode") == "vanilla");
  const Json checks = g.json("checks");
  // {"relative_<tolerance>": [kinds], ...}: the relative tolerance is named in the key.
  const Json* relative = nullptr;
  double rel_tol = 0;
  for (const auto& item : checks.items())
    if (item.key().rfind("relative_", 0) == 0) {
      relative = &item.value();
      rel_tol = parse_number(item.key().substr(9)).value_or(0);
    }
  REQUIRE(relative);
  REQUIRE(rel_tol > 0);
  rel_tol = std::max(rel_tol, rel_floor);
  const Json& relative_kinds = *relative;
  const double g_after_tol = checks.at("G/after_abs_over_lr").get<double>();
  const std::vector<std::string> zero_list = split_commas(g.meta.at("zero_grad_params"));
  const std::set<std::string> zero(zero_list.begin(), zero_list.end());
  REQUIRE(!zero.empty());

  const int64_t B = g.num("batch"), H = g.num("image_size");
  const std::vector<double> sizes_d = g.at("site_sizes").to_doubles();
  const std::vector<int64_t> sizes(sizes_d.begin(), sizes_d.end());
  const std::vector<double> weights = g.at("site_weights").to_doubles();
  const auto S = static_cast<int64_t>(sizes.size());
  REQUIRE(S == 2);
  REQUIRE(weights[0] != weights[1]);  // the aggregation weights are part of what is checked

  TrainOptions o;
  o.device = device;
  o.seed = 11;
  o.batch_per_site = B;
  o.lambda_l1 = g.number("lambda_l1");
  o.gan_loss = models::GanMode::vanilla;
  o.sampling = data::Sampling::balance;
  o.weighting = Weighting::size;
  for (optim::AdamOptions* a : {&o.adam_g, &o.adam_d}) {
    a->lr = g.number("lr");
    a->beta1 = g.number("beta1");
    a->beta2 = g.number("beta2");
    a->eps = g.number("eps");
    a->weight_decay = g.number("weight_decay");
  }
  const double lr = o.adam_g.lr;
  const models::GeneratorConfig gcfg = g_config(g.json("generator"));
  const models::DiscriminatorConfig dcfg = d_config(g.json("discriminator"));
  auto make_d = [&](int64_t in) {
    REQUIRE(in == dcfg.in_channels);
    return models::build_discriminator(dcfg);
  };

  ScratchDir dir("golden_asyndgan_step");
  // Which shard samples the first step draws depends on the sites' private keys and the sampler's shuffle
  // (both from the seed and n_j, not from the data): a probe with index-coded conditions finds them, and
  // the golden batch is then stored exactly there, in batch order.
  std::vector<std::vector<int64_t>> place(static_cast<size_t>(S));
  {
    InProcessChannel ch(S, WireDtype::f32);
    std::vector<std::unique_ptr<Site>> sites;
    for (int64_t j = 0; j < S; ++j) {
      sites.push_back(std::make_unique<Site>(data::Shard::open(write_site(dir, j, sizes[static_cast<size_t>(j)], {}, true)),
                                             ch.site(j), o, make_d, j));
      sites.back()->connect();
    }
    Central central(models::build_generator(gcfg), ch.central(), o);
    central.connect();
    Sampler sampler(sizes, o.sampling, B, o.seed, 0, H, H, false);
    for (const Draw& d : sampler.next_step()) {
      const Tensor x = central.conditions(d.site, d.positions, d.aug);
      for (int64_t b = 0; b < B; ++b)
        place[static_cast<size_t>(d.site)].push_back(std::lround(x.to_doubles()[static_cast<size_t>(b * (x.numel() / B))] * 255));
    }
    for (const auto& p : place) REQUIRE(std::set<int64_t>(p.begin(), p.end()).size() == static_cast<size_t>(B));
  }

  // The run: G and each D from the golden's initial weights, central on a tapped channel.
  InProcessChannel ch(S, WireDtype::f32);
  TapChannel tap(ch.central());
  auto gnet = models::build_generator(gcfg);
  {
    std::map<std::string, Tensor> init;
    for (const auto& [k, v] : gnet->state_dict()) init[k] = g.at("G/init/" + k);
    gnet->load_state_dict(init);
  }
  Central central(gnet, tap, o);
  std::vector<std::unique_ptr<Site>> sites;
  for (int64_t j = 0; j < S; ++j) {
    sites.push_back(std::make_unique<Site>(data::Shard::open(write_site(dir, j, sizes[static_cast<size_t>(j)], place[static_cast<size_t>(j)], false)),
                                           ch.site(j), o, make_d, j));
    Site& s = *sites.back();
    // Discriminator k trains modality s.modalities()[k] ("m<index>"): load its golden weights through the
    // site's own state (its discriminators have no other way in or out).
    Checkpoint ck;
    s.save_state(ck, "s.");
    REQUIRE(s.num_discriminators() == static_cast<int64_t>(s.modalities().size()));
    for (int64_t k = 0; k < s.num_discriminators(); ++k) {
      const std::string pre = msg("s.d", k, ".");
      for (auto& [name, t] : ck.tensors)
        if (name.rfind(pre, 0) == 0) t = g.at(msg("D/site", j, "/", s.modalities()[static_cast<size_t>(k)], "/init/", name.substr(pre.size())));
    }
    s.load_state(ck, "s.");
    s.connect();
  }
  CHECK(sites[0]->modalities() == std::vector<std::string>{"m0", "m1"});
  CHECK(sites[1]->modalities() == std::vector<std::string>{"m0"});
  central.connect();
  central.start();
  for (auto& s : sites) REQUIRE(s->serve_one() == Served::start);
  central.begin_step();
  for (int64_t j : central.requested_sites()) REQUIRE(sites[static_cast<size_t>(j)]->serve_request() == Served::request);
  const StepResult res = central.finish_step();

  std::map<std::string, double> worst;  // per kind of result, for the report
  auto note = [&](const std::string& kind, double e) { worst[kind] = std::max(worst[kind], e); };
  auto rel = [&](const std::string& kind, const Tensor& actual, const Tensor& expected, const std::string& what) {
    const double e = golden_error(actual, expected);
    note(kind, e);
    CHECK_MESSAGE(e <= rel_tol, what << ": " << e);
  };
  auto scalar_rel = [&](double actual, double expected, const std::string& what) {
    const double e = std::fabs(actual - expected) / std::max(std::fabs(expected), 1e-6);
    note("loss", e);
    CHECK_MESSAGE(e <= rel_tol, what << ": " << actual << " vs " << expected);
  };

  // The aggregation weights n_j / sum(n).
  REQUIRE(res.sites.size() == 2);
  for (int64_t j = 0; j < S; ++j) {
    CHECK(res.sites[static_cast<size_t>(j)].participated);
    CHECK(res.sites[static_cast<size_t>(j)].samples == B);
    CHECK(res.sites[static_cast<size_t>(j)].weight == doctest::Approx(weights[static_cast<size_t>(j)]).epsilon(1e-7));
  }

  // What crossed the channel: G(x_j) down, dL_j/dG(x_j) up (exactly zero on site 1's missing channel).
  int64_t requests = 0, gradients = 0;
  for (const auto& [j, m] : tap.down)
    if (const auto* r = std::get_if<Request>(&m)) {
      ++requests;
      rel("fake", r->synthetic, g.at(msg("fake/site", j)), msg("fake/site", j));
    }
  for (const auto& [j, m] : tap.up)
    if (const auto* gr = std::get_if<Gradient>(&m)) {
      ++gradients;
      rel("grad_fake", gr->grad, g.at(msg("grad_fake/site", j)), msg("grad_fake/site", j));
      if (j == 1) CHECK(max_abs(gr->grad.narrow(1, 1, 1).contiguous()) == 0.0);
      // SiteStats: means over the site's discriminators; g_loss the sum over its modalities.
      const std::vector<std::string>& mods = sites[static_cast<size_t>(j)]->modalities();
      double d = 0, gan = 0, l1 = 0;
      for (const auto& mod : mods) {
        d += g.at(msg("loss/site", j, "/d_", mod)).item() / static_cast<double>(mods.size());
        gan += g.at(msg("loss/site", j, "/g_gan_", mod)).item() / static_cast<double>(mods.size());
        l1 += g.at(msg("loss/site", j, "/g_l1_", mod)).item() / static_cast<double>(mods.size());
      }
      scalar_rel(gr->stats.d_loss, d, msg("site ", j, " d_loss"));
      scalar_rel(gr->stats.g_gan, gan, msg("site ", j, " g_gan"));
      scalar_rel(gr->stats.g_l1, l1, msg("site ", j, " g_l1"));
      scalar_rel(gr->stats.g_loss, g.at(msg("loss/site", j, "/g")).item(), msg("site ", j, " g_loss"));
    }
  CHECK(requests == 2);
  CHECK(gradients == 2);

  // G: the weighted gradient (where stored) and the weights after its Adam step.
  // The golden's zero-gradient parameters (rounding noise in PyTorch's float64 run) are exactly the biases our
  // networks mark cancelled by the instance norm after them (nn::Conv2d::set_bias_cancelled). Those are never
  // applied and get no gradient (an exact zero, compared with PyTorch's noise on the scale of the largest
  // gradient), so Adam skips them and they keep their initial values bit for bit; PyTorch's Adam instead turns
  // the noise into steps of up to about lr (the checks metadata's zero_grad_params_abs_over_lr), which no implementation reproduces and which carry no
  // information. So they are compared with their initial values, exactly.
  const std::vector<std::string> d_cancelled = nn::cancelled_biases(*models::build_discriminator(dcfg));
  std::set<std::string> cancelled;
  for (const std::string& k : nn::cancelled_biases(central.generator())) cancelled.insert("G/" + k);
  for (int64_t j = 0; j < S; ++j)
    for (const std::string& mod : sites[static_cast<size_t>(j)]->modalities())
      for (const std::string& k : d_cancelled) cancelled.insert(msg("D/site", j, "/", mod, "/", k));
  CHECK(cancelled == zero);
  double gmax = 0;
  for (const auto& [k, p] : central.generator().named_parameters()) {
    REQUIRE_MESSAGE((p.grad().defined() || zero.count("G/" + k)), k);
    if (p.grad().defined()) gmax = std::max(gmax, max_abs(p.grad()));
  }
  int64_t g_grads = 0, g_zero = 0;
  for (const auto& [k, p] : central.generator().named_parameters()) {
    const std::string name = "G/" + k;
    auto it = g.t.find("G/grad/" + k);
    if (it != g.t.end()) {
      ++g_grads;
      if (zero.count(name)) {
        CHECK_FALSE_MESSAGE(p.grad().defined(), name);
        const double e = golden_error(Tensor::zeros_like(p), it->second, gmax);
        note("G/grad (zero-grad params, vs max grad)", e);
        CHECK_MESSAGE(e <= rel_tol, name);
      } else {
        rel("G/grad", p.grad(), it->second, "G/grad/" + k);
      }
    }
    if (zero.count(name)) {
      ++g_zero;
      const double e = max_abs_diff(p, g.at("G/init/" + k)) / lr;
      note("zero-grad params |after - init| / lr", e);
      CHECK_MESSAGE(e == 0.0, name);  // PyTorch's own run is only within checks' zero_grad_params_abs_over_lr
    } else {
      const double e = max_abs_diff(p, g.at("G/after/" + k)) / lr;
      note("G/after abs / lr", e);
      CHECK_MESSAGE(e <= g_after_tol, "G/after/" << k << ": " << e << " lr");
    }
  }
  CHECK(g_grads > 0);
  CHECK(g_zero > 0);

  // Every site's discriminators after their one Adam step.
  int64_t d_tensors = 0;
  for (int64_t j = 0; j < S; ++j) {
    Site& s = *sites[static_cast<size_t>(j)];
    Checkpoint ck;
    s.save_state(ck, "s.");
    for (int64_t k = 0; k < s.num_discriminators(); ++k) {
      const std::string pre = msg("s.d", k, "."), gpre = msg("D/site", j, "/", s.modalities()[static_cast<size_t>(k)], "/");
      for (const auto& [name, t] : ck.tensors) {
        if (name.rfind(pre, 0) != 0) continue;
        const std::string key = name.substr(pre.size());
        ++d_tensors;
        if (zero.count(gpre + key)) {
          const double e = max_abs_diff(t, g.at(gpre + "init/" + key)) / lr;
          note("zero-grad params |after - init| / lr", e);
          CHECK_MESSAGE(e == 0.0, gpre << key);  // as G's cancelled biases
        } else {
          rel("D/after", t, g.at(gpre + "after/" + key), gpre + "after/" + key);
        }
      }
    }
  }
  CHECK(d_tensors > 0);
  for (const Json& kind : relative_kinds) CHECK_MESSAGE(worst.count(kind.get<std::string>()), "nothing compared for " << kind.get<std::string>());

  std::string report;
  for (const auto& [k, v] : worst) report += msg(k, " ", v, "; ");
  MESSAGE("worst errors: " << report);
}

}  // namespace asyndgan::test::golden_step
