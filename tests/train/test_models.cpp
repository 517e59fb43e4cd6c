// The networks and GAN losses of models/ against PyTorch's pix2pix: parameter counts and state-dict keys
// (tests/golden/models_v1.json), forward shapes, and one forward + backward per network
// (tests/golden/models_v1.safetensors); both written by tests/golden/make_model_golden.py.
#include <doctest/doctest.h>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include "engine/autograd.h"
#include "engine/io/file_io.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "engine/io/text.h"
#include "engine/nn/conv.h"
#include "engine/nn/module.h"
#include "engine/nn/sequential.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "models/factory.h"
#include "models/gan_loss.h"
#include "models/patch_discriminator.h"
#include "models/resnet_generator.h"
#include "models/unet_generator.h"

using namespace asyndgan;
using namespace asyndgan::models;

namespace {

// The C++ tests' golden measure (as tests/engine/test_golden.cpp): max|actual - expected| / max(max|expected|, 1e-6).
// PyTorch's own f32 run meets 1.3e-6 on these cases (the script prints it), so 1e-5 holds here too.
constexpr double kTolerance = 1e-5;

const Json& golden_json() {
  static const Json doc = [] {
    FileReader r(ASYNDGAN_GOLDEN_DIR "/models_v1.json");
    std::string text(r.size(), '\0');
    r.read(text.data(), r.size(), "models_v1.json");
    return parse_json(text, "models_v1.json");
  }();
  return doc;
}

struct GoldenTensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
};
const GoldenTensors& golden_tensors() {
  static const GoldenTensors g = [] {
    GoldenTensors f;
    f.tensors = load_safetensors(ASYNDGAN_GOLDEN_DIR "/models_v1.safetensors", &f.meta);
    return f;
  }();
  return g;
}

std::string str(const Json& o, const char* key) { return o.at(key).get<std::string>(); }
int64_t num(const Json& o, const char* key) { return o.at(key).get<int64_t>(); }

// A network from a golden config (the C++ config field names); kind "resnet" names its n_blocks directly.
std::shared_ptr<nn::Module> build(const Json& c) {
  if (str(c, "net") == "discriminator") {
    DiscriminatorConfig d;
    d.kind = str(c, "kind");
    d.in_channels = num(c, "in_channels");
    d.ndf = num(c, "ndf");
    d.n_layers = num(c, "n_layers");
    d.norm = str(c, "norm");
    return build_discriminator(d);
  }
  if (str(c, "kind") == "resnet")
    return std::make_shared<ResnetGenerator>(num(c, "in_channels"), num(c, "out_channels"), num(c, "ngf"),
                                             parse_norm(str(c, "norm")), c.at("dropout").get<bool>(),
                                             num(c, "n_blocks"));
  GeneratorConfig g;
  g.kind = str(c, "kind");
  g.in_channels = num(c, "in_channels");
  g.out_channels = num(c, "out_channels");
  g.ngf = num(c, "ngf");
  g.norm = str(c, "norm");
  g.dropout = c.at("dropout").get<bool>();
  g.image_size = num(c, "image_size");
  return build_generator(g);
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_doubles()) m = std::max(m, std::fabs(v));
  return m;
}

// The measure above; `scale` > 0 replaces max|expected| (for gradients that are zero in exact arithmetic).
double golden_error(const Tensor& actual, const Tensor& expected, double scale = 0) {
  REQUIRE(actual.shape() == expected.shape());
  std::vector<double> a = actual.to_doubles(), e = expected.to_doubles();
  double diff = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    double d = std::fabs(a[i] - e[i]);
    if (!(d <= diff)) diff = d;  // NaN counts as a failure
  }
  return diff / std::max(scale > 0 ? scale : max_abs(expected), 1e-6);
}

Tensor input(Generator& gen, Shape shape) { return Tensor::randn(shape, gen); }

}  // namespace

TEST_CASE("models: parameter counts match PyTorch's pix2pix networks (and METHOD.md's figures)") {
  const Json& counts = golden_json().at("parameter_counts");
  REQUIRE(counts.size() >= 10);
  for (const Json& c : counts) {
    CAPTURE(str(c, "name"));
    CHECK(nn::count_parameters(*build(c)) == num(c, "parameters"));
  }
}

TEST_CASE("models: state-dict keys and shapes are PyTorch's, in PyTorch's order") {
  for (const Json& c : golden_json().at("state_dict_keys")) {
    CAPTURE(str(c, "name"));
    nn::NamedTensors sd = build(c)->state_dict();
    const Json& expected = c.at("state_dict");
    REQUIRE(sd.size() == expected.size());
    for (size_t i = 0; i < sd.size(); ++i) {
      const Json& e = expected[i];
      CHECK(sd[i].first == e[0].get<std::string>());
      const Shape shape = e[1].get<Shape>();
      CHECK_MESSAGE(sd[i].second.shape() == shape, sd[i].first);
    }
  }
}

TEST_CASE("models: forward shapes (U-Net depth from the image size, ResNet, PatchGAN patch maps)") {
  NoGradGuard ng;
  Generator gen(7);
  GeneratorConfig g;
  g.ngf = 2;
  g.image_size = 64;
  auto unet64 = build_generator(g);
  CHECK(dynamic_cast<UnetGenerator&>(*unet64).num_downs() == 6);
  CHECK(unet64->forward(input(gen, {1, 5, 64, 64})).shape() == Shape{1, 4, 64, 64});
  g.image_size = 128;
  auto unet128 = build_generator(g);
  CHECK(dynamic_cast<UnetGenerator&>(*unet128).num_downs() == 7);
  CHECK(unet128->forward(input(gen, {1, 5, 128, 128})).shape() == Shape{1, 4, 128, 128});
  CHECK(unet_num_downs(256) == 8);
  CHECK_THROWS_AS(unet128->forward(input(gen, {1, 5, 64, 64})), ShapeError);  // too shallow for 7 levels

  g.kind = "resnet_9blocks";
  g.image_size = 64;
  auto resnet = build_generator(g);
  CHECK(resnet->forward(input(gen, {1, 5, 64, 64})).shape() == Shape{1, 4, 64, 64});
  CHECK_THROWS_AS(resnet->forward(input(gen, {1, 5, 30, 30})), ShapeError);

  DiscriminatorConfig d;
  d.in_channels = 5 + 1;
  d.ndf = 2;
  auto patch = build_discriminator(d);
  CHECK(patch->forward(input(gen, {1, 6, 256, 256})).shape() == Shape{1, 1, 30, 30});
  CHECK(patch->forward(input(gen, {2, 6, 64, 64})).shape() == Shape{2, 1, 6, 6});
  CHECK(patch_output_size(256, 3) == 30);
  CHECK_THROWS_AS(patch->forward(input(gen, {1, 6, 16, 16})), ShapeError);
  CHECK_THROWS_AS(patch->forward(input(gen, {1, 5, 64, 64})), ShapeError);  // condition + image channels
}

TEST_CASE("models: bad configs are ValueErrors naming the key") {
  auto message_of = [](auto&& f) {
    try {
      f();
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no ValueError");
  };
  GeneratorConfig g;
  g.kind = "unet_512";
  CHECK(message_of([&] { build_generator(g); }).find("generator.kind") != std::string::npos);
  g = {};
  g.norm = "layer";
  CHECK(message_of([&] { build_generator(g); }).find("generator.norm") != std::string::npos);
  g = {};
  g.image_size = 96;
  CHECK(message_of([&] { build_generator(g); }).find("generator.image_size") != std::string::npos);
  g = {};
  g.ngf = 0;
  CHECK(message_of([&] { build_generator(g); }).find("generator.ngf") != std::string::npos);
  DiscriminatorConfig d;
  d.kind = "pixelgan";
  CHECK(message_of([&] { build_discriminator(d); }).find("discriminator.kind") != std::string::npos);
  d = {};
  d.norm = "none";
  CHECK(message_of([&] { build_discriminator(d); }).find("discriminator.norm") != std::string::npos);
  CHECK(message_of([] { parse_gan_mode("wgan", "loss.gan_mode"); }).find("loss.gan_mode") != std::string::npos);
}

TEST_CASE("models: one forward and backward of each network matches PyTorch") {
  const GoldenTensors& g = golden_tensors();
  CHECK(g.meta.at("format") == "asyndgan-model-golden");
  const std::vector<std::string> cases = split_commas(g.meta.at("cases"));
  REQUIRE(cases.size() == 4);
  for (const std::string& name : cases) {
    CAPTURE(name);
    auto at = [&](const std::string& role) {
      auto it = g.tensors.find(name + "/" + role);
      REQUIRE_MESSAGE(it != g.tensors.end(), "golden file lacks " << name << "/" << role);
      return it->second;
    };
    auto net = build(parse_json(g.meta.at(name + "/config"), name + "/config"));
    std::map<std::string, Tensor> state;
    const std::string prefix = name + "/state/";
    for (const auto& [k, t] : g.tensors)
      if (k.rfind(prefix, 0) == 0) state[k.substr(prefix.size())] = t;
    net->load_state_dict(state);  // strict: every key of ours is PyTorch's and vice versa
    net->train();

    Tensor x = at("x").clone();
    x.set_requires_grad(true);
    Tensor out = net->forward(x);
    out.backward(at("grad_out"));
    double worst = golden_error(out, at("out"));
    worst = std::max(worst, golden_error(x.grad(), at("grad_x")));

    // The script lists the parameters whose float64 gradient is rounding noise against the network's largest;
    // they must be exactly the biases our network marks cancelled by the instance norm after them (and none
    // under batch norm). Those get no gradient here (an exact zero), compared with PyTorch's noise on the scale
    // of the largest gradient.
    std::set<std::string> zero;
    for (const std::string& k : split_commas(g.meta.at(name + "/zero_grad_params")))
      if (!k.empty()) zero.insert(k);  // "" (no such parameter) splits into one empty name
    const std::vector<std::string> cancelled = nn::cancelled_biases(*net);
    CHECK(std::set<std::string>(cancelled.begin(), cancelled.end()) == zero);
    if (name.find("batch") != std::string::npos) CHECK(cancelled.empty());
    double grad_scale = 0;
    for (const auto& [k, p] : net->named_parameters()) grad_scale = std::max(grad_scale, max_abs(at("grad/" + k)));
    double worst_zero = 0;
    for (const auto& [k, p] : net->named_parameters()) {
      CAPTURE(k);
      if (zero.count(k)) {
        CHECK_FALSE(p.grad().defined());
        worst_zero = std::max(worst_zero, golden_error(Tensor::zeros_like(p), at("grad/" + k), grad_scale));
        continue;
      }
      REQUIRE(p.grad().defined());
      const double e = golden_error(p.grad(), at("grad/" + k));
      CHECK(e <= kTolerance);
      worst = std::max(worst, e);
    }
    for (const auto& [k, b] : net->named_buffers())
      if (k.find("running") != std::string::npos) worst = std::max(worst, golden_error(b, at("state_after/" + k)));
    MESSAGE(name << ": worst error " << worst << ", zero-gradient biases " << worst_zero << " of the largest gradient");
    CHECK(worst <= kTolerance);
    CHECK(worst_zero <= kTolerance);
  }
}

namespace {

// Every convolution of `net` in the Sequential that holds it, with what comes right after it there.
struct ConvSite {
  std::string key;  // the convolution's dotted name
  nn::Module* conv;
  bool has_bias, cancelled;
  std::string next;  // the next layer's type_name, "" at a Sequential's end
};

std::vector<ConvSite> conv_sites(nn::Module& net) {
  std::vector<ConvSite> out;
  for (auto& [name, m] : net.named_modules()) {
    auto* seq = dynamic_cast<nn::Sequential*>(m);
    if (!seq) continue;
    for (size_t i = 0; i < seq->size(); ++i) {
      nn::Module& layer = (*seq)[i];
      const std::string key = (name.empty() ? "" : name + ".") + std::to_string(i);
      const std::string next = i + 1 < seq->size() ? (*seq)[i + 1].type_name() : "";
      if (auto* c = dynamic_cast<nn::Conv2d*>(&layer))
        out.push_back({key, c, c->bias.defined(), c->bias_cancelled(), next});
      else if (auto* t = dynamic_cast<nn::ConvTranspose2d*>(&layer))
        out.push_back({key, t, t->bias.defined(), t->bias_cancelled(), next});
    }
  }
  return out;
}

Tensor& bias_of(nn::Module* conv) {
  if (auto* c = dynamic_cast<nn::Conv2d*>(conv)) return c->bias;
  return dynamic_cast<nn::ConvTranspose2d*>(conv)->bias;
}

}  // namespace

// pix2pix gives a convolution that feeds a norm a bias exactly when the norm is instance norm, which cancels it:
// those biases are marked cancelled (not applied, no gradient); the convolutions no norm follows (the U-Net's
// outermost down and up and innermost down convolutions, PatchGAN's first and last, ResNet's last) apply theirs.
TEST_CASE("models: exactly the convolutions that feed an instance norm have a cancelled bias, and the others apply "
          "theirs") {
  struct Net {
    std::string what;
    std::shared_ptr<nn::Module> net;
    Shape input;
    int64_t convs, cancelled, applied;  // counted from the architecture
  };
  std::vector<Net> nets;
  for (const std::string norm : {"instance", "batch"}) {
    const bool in = norm == "instance";
    GeneratorConfig g;
    g.ngf = 2;
    g.norm = norm;
    g.dropout = false;
    g.image_size = 32;  // 5 levels: 3 middle (down and up into a norm), innermost (up into a norm), outermost
    nets.push_back({"unet_32 " + norm, build_generator(g), {1, 5, 32, 32}, 10, in ? 2 * 5 - 3 : 0, in ? 3 : 1});
    g.image_size = 64;
    nets.push_back({"unet_64 " + norm, build_generator(g), {1, 5, 64, 64}, 12, in ? 2 * 6 - 3 : 0, in ? 3 : 1});
    g.kind = "resnet_6blocks";
    g.image_size = 16;  // 7x7 + two down convs, 2 per block, two up convs into a norm; the last 7x7 applies
    nets.push_back({"resnet_6blocks " + norm, build_generator(g), {1, 5, 16, 16}, 18, in ? 17 : 0, 1});
    DiscriminatorConfig d;
    d.ndf = 2;
    d.norm = norm;  // n_layers 3: three middle convs into a norm; the first and the last apply theirs
    nets.push_back({"patchgan " + norm, build_discriminator(d), {1, 6, 64, 64}, 5, in ? 3 : 0, 2});
  }
  for (Net& n : nets) {
    CAPTURE(n.what);
    const std::vector<ConvSite> sites = conv_sites(*n.net);
    CHECK(static_cast<int64_t>(sites.size()) == n.convs);
    int64_t cancelled = 0, applied = 0;
    for (const ConvSite& s : sites) {
      CAPTURE(s.key);
      CHECK(s.cancelled == (s.next == "InstanceNorm2d"));
      if (s.next == "BatchNorm2d") CHECK_FALSE(s.has_bias);  // pix2pix's use_bias: none before batch norm
      cancelled += s.cancelled;
      applied += s.has_bias && !s.cancelled;
    }
    CHECK(cancelled == n.cancelled);
    CHECK(applied == n.applied);
    std::vector<std::string> keys;
    for (const ConvSite& s : sites)
      if (s.cancelled) keys.push_back(s.key + ".bias");
    std::vector<std::string> listed = nn::cancelled_biases(*n.net);
    std::sort(keys.begin(), keys.end());
    std::sort(listed.begin(), listed.end());
    CHECK(listed == keys);

    // Functionally: moving a cancelled bias changes nothing at all (it is not read); moving an applied one
    // changes the output.
    NoGradGuard ng;
    n.net->eval();
    Generator gen(3);
    const Tensor x = Tensor::randn(n.input, gen);
    const Tensor base = n.net->forward(x);
    for (const ConvSite& s : sites) {
      if (!s.has_bias) continue;
      CAPTURE(s.key);
      Tensor& b = bias_of(s.conv);
      const Tensor saved = b.clone();
      b.copy_(saved + 0.5);
      const double moved = max_abs(n.net->forward(x) - base);
      b.copy_(saved);
      if (s.cancelled)
        CHECK(moved == 0.0);
      else
        CHECK(moved > 1e-4);
    }
  }
}

TEST_CASE("models: GAN losses are pix2pix's vanilla (BCE with logits) and LSGAN against all-1 / all-0 maps") {
  Tensor pred = Tensor::from_doubles({0.0, 2.0, -1.0, 0.5}, {1, 1, 2, 2}, DType::f32);
  auto bce = [](double x, double t) { return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x))); };
  double real = (bce(0, 1) + bce(2, 1) + bce(-1, 1) + bce(0.5, 1)) / 4;
  double fake = (bce(0, 0) + bce(2, 0) + bce(-1, 0) + bce(0.5, 0)) / 4;
  GANLoss vanilla(GanMode::vanilla), lsgan(parse_gan_mode("lsgan"));
  CHECK(vanilla(pred, true).item() == doctest::Approx(real).epsilon(1e-6));
  CHECK(vanilla(pred, false).item() == doctest::Approx(fake).epsilon(1e-6));
  CHECK(lsgan(pred, true).item() == doctest::Approx((1 + 1 + 4 + 0.25) / 4).epsilon(1e-6));
  CHECK(lsgan(pred, false).item() == doctest::Approx((0 + 4 + 1 + 0.25) / 4).epsilon(1e-6));
  CHECK(vanilla(pred, true).dim() == 0);
}

TEST_CASE("models: dropout draws from the generator the run gives it, only in training") {
  NoGradGuard ng;
  GeneratorConfig g;
  g.ngf = 2;
  g.image_size = 64;  // 6 levels: one dropout level
  auto net = build_generator(g);
  Generator data(3);
  Tensor x = Tensor::randn({1, 5, 64, 64}, data);
  auto run = [&](uint64_t seed) {
    Generator gen(seed);
    set_dropout_generator(*net, gen);
    return net->forward(x).to_doubles();
  };
  CHECK(run(11) == run(11));
  CHECK(run(11) != run(12));
  net->eval();
  CHECK(run(11) == run(12));
}
