// A conv / conv-transpose bias marked cancelled by the instance norm after it (nn::Conv2d::set_bias_cancelled):
// the same results as applying it, no gradient, no bias work, Adam leaves it alone, the state dict keeps it.
#include <doctest/doctest.h>
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "engine/profile.h"
#include "tests/engine/gradcheck.h"

using namespace asyndgan;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_doubles()) m = std::max(m, std::fabs(v));
  return m;
}

struct Case {
  bool transposed, affine, fused_activation;
};

std::string describe(const Case& c) {
  return msg(c.transposed ? "ConvTranspose2d" : "Conv2d", " -> InstanceNorm2d(affine=", c.affine, ")",
             c.fused_activation ? " -> LeakyReLU (fused with the norm)" : "");
}

// [conv, InstanceNorm2d(, LeakyReLU)], 3 -> 5 channels, in `dtype`; the conv's bias set to large, distinct
// values so that applying it or not would show if the norm did not cancel it.
std::shared_ptr<nn::Sequential> make_net(const Case& c, DType dtype) {
  auto net = std::make_shared<nn::Sequential>();
  if (c.transposed)
    net->push_back(std::make_shared<nn::ConvTranspose2d>(3, 5, 4, 2, 1, 0, /*bias=*/true, dtype));
  else
    net->push_back(std::make_shared<nn::Conv2d>(3, 5, 4, 2, 1, /*bias=*/true, dtype));
  net->push_back(std::make_shared<nn::InstanceNorm2d>(5, c.affine, 1e-5, dtype));
  if (c.fused_activation) net->push_back(std::make_shared<nn::LeakyReLU>(0.2));
  Tensor bias = net->named_parameters()[1].second;
  REQUIRE(net->named_parameters()[1].first == "0.bias");
  const std::vector<double> values = {2.5, -1.75, 0.5, 3.0, -4.0};
  for (int64_t i = 0; i < 5; ++i) {
    NoGradGuard ng;
    bias.narrow(0, i, 1).fill_(values[static_cast<size_t>(i)]);
  }
  return net;
}

void set_cancelled(nn::Sequential& net, bool cancelled) {
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&net[0])) conv->set_bias_cancelled(cancelled);
  if (auto* convt = dynamic_cast<nn::ConvTranspose2d*>(&net[0])) convt->set_bias_cancelled(cancelled);
}

int64_t calls(const std::vector<profile::Entry>& entries, const std::string& name) {
  for (const profile::Entry& e : entries)
    if (e.name == name) return e.calls;
  return 0;
}

const std::vector<Case> kCases = {{false, false, false}, {false, true, false}, {false, false, true},
                                  {true, false, false},  {true, true, true}};

}  // namespace

TEST_CASE("nn: a bias cancelled by the instance norm after it: same output and input and weight gradients, no bias "
          "gradient and no bias work, Adam keeps it bit for bit, the state dict keeps its key") {
  for (const Case& c : kCases) {
    CAPTURE(describe(c));
    auto plain = make_net(c, DType::f32);
    auto cancelled = make_net(c, DType::f32);
    cancelled->load_state_dict(plain->state_dict());
    set_cancelled(*cancelled, true);
    CHECK(nn::cancelled_biases(*cancelled) == std::vector<std::string>{"0.bias"});
    CHECK(nn::cancelled_biases(*plain).empty());

    Generator gen(21);
    const Tensor x0 = Tensor::randn({2, 3, 8, 8}, gen);
    const Shape out_shape = c.transposed ? Shape{2, 5, 16, 16} : Shape{2, 5, 4, 4};
    const Tensor grad_out = Tensor::randn(out_shape, gen);

    auto run = [&](nn::Sequential& net, std::vector<profile::Entry>* work) {
      Tensor x = x0.clone();
      x.set_requires_grad(true);
      profile::reset();
      profile::set_enabled(true);
      Tensor out = net.forward(x);
      out.backward(grad_out);
      profile::set_enabled(false);
      if (work) *work = profile::snapshot();
      return std::pair<Tensor, Tensor>{out, x.grad()};
    };
    std::vector<profile::Entry> plain_work, cancelled_work;
    auto [out_p, gx_p] = run(*plain, &plain_work);
    auto [out_c, gx_c] = run(*cancelled, &cancelled_work);

    // Outputs of the normalization are O(1); the bias (up to 4) only moves the rounding of the mean.
    REQUIRE(out_c.shape() == out_shape);
    CHECK(max_abs_diff(out_c, out_p) <= 1e-5);
    CHECK(max_abs_diff(gx_c, gx_p) <= 1e-5 * std::max(1.0, max_abs(gx_p)));
    const auto params_p = plain->named_parameters(), params_c = cancelled->named_parameters();
    REQUIRE(params_p.size() == params_c.size());
    for (size_t i = 0; i < params_p.size(); ++i) {
      CAPTURE(params_p[i].first);
      if (params_p[i].first == "0.bias") {
        CHECK_FALSE(params_c[i].second.grad().defined());  // no gradient: exactly zero, as PyTorch's None
        // Applied, it gets a gradient that is zero but for rounding (which Adam would turn into ~lr steps).
        REQUIRE(params_p[i].second.grad().defined());
        CHECK(max_abs(params_p[i].second.grad()) <= 1e-4 * max_abs(params_p[0].second.grad()));
      } else {
        REQUIRE(params_c[i].second.grad().defined());
        const Tensor& g = params_p[i].second.grad();
        CHECK(max_abs_diff(params_c[i].second.grad(), g) <= 1e-5 * std::max(1.0, max_abs(g)));
      }
    }

    // No bias work: the op gets no bias, so neither the add (forward) nor the reduction (backward) runs.
    const std::string op = c.transposed ? "conv_transpose2d" : "conv2d";
    CHECK(calls(plain_work, op) == calls(cancelled_work, op) + 1);
    CHECK(calls(plain_work, op + " backward") == calls(cancelled_work, op + " backward") + 1);

    // The parameter and its key stay (checkpoints and PyTorch weights load both ways), with its value.
    const nn::NamedTensors sd = cancelled->state_dict();
    auto it = std::find_if(sd.begin(), sd.end(), [](const auto& kv) { return kv.first == "0.bias"; });
    REQUIRE(it != sd.end());
    CHECK(it->second.to_vector<float>() == plain->state_dict()[1].second.to_vector<float>());

    // Adam (with weight decay, which would move any parameter it visits) skips the bias: bit for bit.
    const std::vector<float> bias_before = params_c[1].second.to_vector<float>();
    const std::vector<float> weight_before = params_c[0].second.to_vector<float>();
    optim::Adam adam(cancelled->parameters(), {1e-2, 0.5, 0.999, 1e-8, 1e-2});
    adam.step();
    CHECK(params_c[1].second.to_vector<float>() == bias_before);
    CHECK(params_c[0].second.to_vector<float>() != weight_before);
    std::map<std::string, Tensor> state;
    adam.save_state(state, "adam.");
    CHECK(state.count("adam.1.exp_avg") == 0);  // no moments for a parameter that never had a gradient
    CHECK(state.count("adam.0.exp_avg") == 1);
  }
}

TEST_CASE("nn: cancelled biases, float64 gradcheck of conv and conv-transpose into instance norm (the bias's finite "
          "differences are zero)") {
  for (const Case& c : kCases) {
    CAPTURE(describe(c));
    auto net = make_net(c, DType::f64);
    set_cancelled(*net, true);
    const nn::NamedTensors params = net->named_parameters();
    Tensor x = test::rand_input({2, 3, 6, 6}, 5);
    std::vector<Tensor> inputs = {x};
    for (const auto& [name, p] : params) inputs.push_back(p);  // perturbed in place: the module's own storage
    test::gradcheck(
        describe(c), [&](const std::vector<Tensor>&) { return net->forward(x); }, inputs, 1e-6, 1e-6, 1e-5,
        /*no_grad_is_zero=*/true);
    CHECK_FALSE(params[1].second.grad().defined());
  }
}

TEST_CASE("nn: set_bias_cancelled needs a bias, and cancelled_biases lists the marked biases' keys in module order") {
  nn::Conv2d nobias(3, 4, 3, 1, 1, /*bias=*/false);
  CHECK_THROWS_AS(nobias.set_bias_cancelled(true), ValueError);
  nobias.set_bias_cancelled(false);  // clearing is always fine
  nn::ConvTranspose2d nobias_t(3, 4, 3, 1, 1, 0, /*bias=*/false);
  CHECK_THROWS_AS(nobias_t.set_bias_cancelled(true), ValueError);

  nn::Sequential net;
  auto a = net.push_back(std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1));
  net.push_back(std::make_shared<nn::InstanceNorm2d>(4));
  auto b = net.push_back(std::make_shared<nn::ConvTranspose2d>(4, 4, 4, 2, 1));
  net.push_back(std::make_shared<nn::InstanceNorm2d>(4));
  auto last = net.push_back(std::make_shared<nn::Conv2d>(4, 1, 3, 1, 1));
  CHECK(nn::cancelled_biases(net).empty());
  b->set_bias_cancelled(true);
  a->set_bias_cancelled(true);
  CHECK(nn::cancelled_biases(net) == std::vector<std::string>{"0.bias", "2.bias"});
  CHECK_FALSE(last->bias_cancelled());
  a->set_bias_cancelled(false);
  CHECK(nn::cancelled_biases(net) == std::vector<std::string>{"2.bias"});
  CHECK(net.state_dict().size() == 6);  // every weight and bias keeps its key
}
