// nn modules: PyTorch-style names and state_dict order, modes, load_state_dict checks, pix2pix init.
#include <doctest/doctest.h>
#include <cmath>
#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "file_test_util.h"
#include "op_test_util.h"

using namespace asyndgan;
using test::contains_all;
using test::error_message;

namespace {

// Mirrors a PyTorch module with self.model = nn.Sequential(conv, leaky, conv(no bias), bn, convT, in, dropout).
struct TinyNet : nn::Module {
  std::shared_ptr<nn::Sequential> model;
  TinyNet() {
    model = register_module("model", std::make_shared<nn::Sequential>());
    model->push_back(std::make_shared<nn::Conv2d>(3, 8, 4, 2, 1));
    model->push_back(std::make_shared<nn::LeakyReLU>(0.2));
    model->push_back(std::make_shared<nn::Conv2d>(8, 16, 4, 2, 1, /*bias=*/false));
    model->push_back(std::make_shared<nn::BatchNorm2d>(16));
    model->push_back(std::make_shared<nn::ConvTranspose2d>(16, 4, 4, 2, 1));
    model->push_back(std::make_shared<nn::InstanceNorm2d>(4, /*affine=*/true));
    model->push_back(std::make_shared<nn::Dropout>(0.5));
  }
};

std::vector<std::string> names_of(const nn::NamedTensors& list) {
  std::vector<std::string> out;
  for (const auto& e : list) out.push_back(e.first);
  return out;
}

}  // namespace

TEST_CASE("nn: parameter, buffer and state_dict names are PyTorch's dotted keys in registration order") {
  TinyNet net;
  CHECK(names_of(net.named_parameters()) ==
        std::vector<std::string>{"model.0.weight", "model.0.bias", "model.2.weight", "model.3.weight", "model.3.bias",
                                 "model.4.weight", "model.4.bias", "model.5.weight", "model.5.bias"});
  CHECK(names_of(net.named_buffers()) ==
        std::vector<std::string>{"model.3.running_mean", "model.3.running_var", "model.3.num_batches_tracked"});
  CHECK(names_of(net.state_dict()) ==
        std::vector<std::string>{"model.0.weight", "model.0.bias", "model.2.weight", "model.3.weight", "model.3.bias",
                                 "model.3.running_mean", "model.3.running_var", "model.3.num_batches_tracked",
                                 "model.4.weight", "model.4.bias", "model.5.weight", "model.5.bias"});
  auto sd = net.state_dict();
  CHECK(sd[0].second.shape() == Shape{8, 3, 4, 4});
  CHECK(sd[8].second.shape() == Shape{16, 4, 4, 4});  // transposed conv: [in, out, k, k]
  for (const auto& [name, p] : net.named_parameters()) CHECK_MESSAGE(p.requires_grad(), name);
  for (const auto& [name, b] : net.named_buffers()) CHECK_FALSE_MESSAGE(b.requires_grad(), name);
  CHECK(nn::count_parameters(net) == 8 * 3 * 16 + 8 + 16 * 8 * 16 + 16 + 16 + 16 * 4 * 16 + 4 + 4 + 4);
  CHECK(net.parameters().size() == 9);
  // state_dict entries alias the module's tensors
  sd[6].second.fill_(7.0);
  CHECK(net.named_buffers()[1].second.to_doubles()[0] == 7.0);
  auto modules = net.named_modules();
  REQUIRE(modules.size() == 9);
  CHECK(modules[0].first == "");
  CHECK(modules[1].first == "model");
  CHECK(modules[4].first == "model.2");
  CHECK(dynamic_cast<nn::BatchNorm2d*>(modules[5].second) != nullptr);
}

TEST_CASE("nn: member names must be unique and dot-free") {
  struct Bad : nn::Module {
    void add(const std::string& name) { register_parameter(name, Tensor::zeros({1})); }
    void add_child(const std::string& name) { register_module(name, std::make_shared<nn::ReLU>()); }
  } bad;
  bad.add("w");
  CHECK(error_message<ValueError>([&] { bad.add("w"); }).find("'w' is already registered") != std::string::npos);
  CHECK_THROWS_AS(bad.add_child("w"), ValueError);
  CHECK_THROWS_AS(bad.add("a.b"), ValueError);
  CHECK_THROWS_AS(bad.add(""), ValueError);
}

TEST_CASE("nn: train and eval reach every descendant, zero_grad drops every gradient") {
  TinyNet net;
  auto all_modes = [&](bool want) {
    for (auto& [name, m] : net.named_modules())
      if (m->is_training() != want) return false;
    return true;
  };
  CHECK(all_modes(true));
  net.eval();
  CHECK(all_modes(false));
  net.train();
  CHECK(all_modes(true));
  net.model->train(false);
  CHECK(net.is_training());
  CHECK_FALSE((*net.model)[6].is_training());

  for (Tensor& p : net.parameters()) p.set_grad(Tensor::ones_like(p));
  net.zero_grad();
  for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("nn: batch_coupled finds a BatchNorm2d in training anywhere in the tree, and nothing else") {
  TinyNet net;  // conv, leaky, conv, batch norm, transposed conv, instance norm, dropout
  CHECK(nn::batch_coupled(net));
  net.eval();  // running statistics: each sample alone
  CHECK_FALSE(nn::batch_coupled(net));
  net.train();
  (*net.model)[3].eval();  // only the batch norm in eval
  CHECK_FALSE(nn::batch_coupled(net));
  nn::InstanceNorm2d in(4);
  CHECK_FALSE(nn::batch_coupled(in));

  // What the promise means: with no coupling, one pass over two concatenated batches gives each batch's outputs.
  Generator gen(21);
  net.eval();
  const Tensor a = Tensor::randn({2, 3, 8, 8}, gen), b = Tensor::randn({3, 3, 8, 8}, gen);
  nn::Sequential& model = *net.model;
  const Tensor both = model(cat({a, b}, 0));
  CHECK(test::relative_error(both.narrow(0, 0, 2), model(a)) < 1e-6);
  CHECK(test::relative_error(both.narrow(0, 2, 3), model(b)) < 1e-6);
}

TEST_CASE("nn: load_state_dict copies values in place, converting dtype") {
  TinyNet a, b;
  Tensor held = b.parameters()[0];  // as an optimizer would hold it
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : a.state_dict()) state[name] = t.to(DType::f64);
  b.load_state_dict(state);
  CHECK(held.same(b.parameters()[0]));
  CHECK(held.to_vector<float>() == a.parameters()[0].to_vector<float>());
  for (size_t i = 0; i < a.state_dict().size(); ++i)
    CHECK(a.state_dict()[i].second.to_vector<float>() == b.state_dict()[i].second.to_vector<float>());
  b.load_state_dict(a.state_dict());  // the ordered form works too
}

TEST_CASE("nn: load_state_dict mismatches name the key and change nothing") {
  TinyNet net;
  const std::vector<float> before = net.parameters()[0].to_vector<float>();
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : net.state_dict()) state[name] = Tensor::zeros_like(t);

  auto missing = state;
  missing.erase("model.3.running_var");
  CHECK(contains_all(error_message<ValueError>([&] { net.load_state_dict(missing); }),
                     {"missing key 'model.3.running_var'", "strict=false"}));

  auto unexpected = state;
  unexpected["model.9.weight"] = Tensor::zeros({1});
  CHECK(error_message<ValueError>([&] { net.load_state_dict(unexpected); }).find("unexpected key 'model.9.weight'") !=
        std::string::npos);

  auto wrong_shape = state;
  wrong_shape["model.2.weight"] = Tensor::zeros({16, 8, 3, 3});
  CHECK(contains_all(error_message<ShapeError>([&] { net.load_state_dict(wrong_shape); }),
                     {"'model.2.weight'", "[16, 8, 3, 3]", "[16, 8, 4, 4]"}));
  CHECK_THROWS_AS(net.load_state_dict(wrong_shape, /*strict=*/false), ShapeError);  // shapes are checked regardless

  CHECK(net.parameters()[0].to_vector<float>() == before);  // nothing was half-loaded

  // not strict: loads the subset present, ignores extras
  net.load_state_dict(missing, /*strict=*/false);
  for (float v : net.parameters()[0].to_vector<float>()) CHECK(v == 0.0f);
  CHECK(net.named_buffers()[1].second.to_doubles()[0] == 1.0);  // running_var untouched (was missing)
  net.load_state_dict(unexpected, /*strict=*/false);
}

TEST_CASE("nn: init_pix2pix draws conv weights N(0, gain), zero biases, norm scales N(1, gain)") {
  nn::Sequential net;
  auto conv = net.push_back(std::make_shared<nn::Conv2d>(64, 128, 4, 2, 1));
  auto convt = net.push_back(std::make_shared<nn::ConvTranspose2d>(128, 64, 4, 2, 1));
  auto bn = net.push_back(std::make_shared<nn::BatchNorm2d>(4096));
  auto in = net.push_back(std::make_shared<nn::InstanceNorm2d>(4096, /*affine=*/true));
  Generator gen(7);
  nn::init_pix2pix(net, gen, 0.02);

  auto moments = [](const Tensor& t) {
    std::vector<double> v = t.to_doubles();
    double mean = 0, sq = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    for (double x : v) sq += (x - mean) * (x - mean);
    return std::pair<double, double>{mean, std::sqrt(sq / static_cast<double>(v.size()))};
  };
  for (const Tensor& w : {conv->weight, convt->weight}) {  // 131072 draws: the mean's std error is 5.5e-5
    auto [mean, sd] = moments(w);
    CHECK(std::abs(mean) < 3e-4);
    CHECK(sd == doctest::Approx(0.02).epsilon(0.01));
  }
  for (const Tensor& w : {bn->weight, in->weight}) {  // 4096 draws: std error 3e-4
    auto [mean, sd] = moments(w);
    CHECK(mean == doctest::Approx(1.0).epsilon(2e-3));
    CHECK(sd == doctest::Approx(0.02).epsilon(0.05));
  }
  for (const Tensor& b : {conv->bias, convt->bias, bn->bias, in->bias})
    for (double v : b.to_doubles()) CHECK(v == 0.0);
  CHECK(bn->running_var.to_doubles()[0] == 1.0);  // buffers are not parameters: untouched

  // reproducible from the generator state; a different seed gives different weights
  nn::Sequential again;
  auto conv2 = again.push_back(std::make_shared<nn::Conv2d>(64, 128, 4, 2, 1));
  Generator same(7), other(8);
  nn::init_pix2pix(again, same);
  CHECK(conv2->weight.to_vector<float>() == conv->weight.to_vector<float>());
  nn::init_pix2pix(again, other);
  CHECK(conv2->weight.to_vector<float>() != conv->weight.to_vector<float>());
}

TEST_CASE("nn: default conv initialization is PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)) range") {
  nn::Conv2d conv(16, 32, 3);           // fan_in 144: bound 1/12
  nn::ConvTranspose2d convt(32, 16, 3);  // fan_in = 16 * 9: bound 1/12
  for (const Tensor& t : {conv.weight, conv.bias, convt.weight, convt.bias}) {
    double lo = 1, hi = -1;
    for (double v : t.to_doubles()) lo = std::min(lo, v), hi = std::max(hi, v);
    CHECK(lo >= -1.0 / 12);
    CHECK(hi <= 1.0 / 12);
    CHECK(hi - lo > 0.1);  // actually spread over the range
  }
}

TEST_CASE("nn: layer arguments are checked") {
  CHECK_THROWS_AS(nn::Conv2d(0, 4, 3), ValueError);
  CHECK_THROWS_AS(nn::Conv2d(3, 4, 3, /*stride=*/0), ValueError);
  CHECK_THROWS_AS(nn::ConvTranspose2d(3, 4, 3, 2, 1, /*output_padding=*/2), ValueError);
  CHECK_THROWS_AS(nn::BatchNorm2d(0), ValueError);
  CHECK_THROWS_AS(nn::Dropout(1.0), ValueError);
  CHECK_THROWS_AS(nn::Dropout(-0.1), ValueError);
  CHECK_THROWS_AS(nn::ReflectionPad2d(-1), ValueError);
  nn::Sequential seq;
  CHECK_THROWS_AS(seq[0], ValueError);
  nn::Module bare;
  CHECK_THROWS_AS(bare.forward(Tensor::zeros({1})), ValueError);
  nn::BatchNorm2d bn(3);
  CHECK(contains_all(error_message<ShapeError>([&] { bn.forward(Tensor::zeros({2, 4, 5, 5})); }), {"BatchNorm2d", "[2, 4, 5, 5]"}));
}

TEST_CASE("nn: BatchNorm2d counts num_batches_tracked in training only, as PyTorch") {
  nn::BatchNorm2d bn(2);
  Generator gen(5);
  Tensor x = Tensor::randn({3, 2, 4, 4}, gen);
  bn.forward(x);
  bn.forward(x);
  CHECK(bn.num_batches_tracked.dtype() == DType::i64);
  CHECK(bn.num_batches_tracked.item() == 2.0);
  bn.eval();
  bn.forward(x);
  CHECK(bn.num_batches_tracked.item() == 2.0);
}
