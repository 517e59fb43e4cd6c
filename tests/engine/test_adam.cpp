// Adam against hand-computed torch.optim.Adam updates, its state round trip, and the pix2pix LR schedule.
#include <doctest/doctest.h>
#include <cmath>
#include "engine/engine.h"
#include "engine/optim/adam.h"
#include "engine/optim/schedule.h"
#include "file_test_util.h"

using namespace asyndgan;
using optim::Adam;
using optim::AdamOptions;
using test::contains_all;
using test::error_message;

namespace {

Tensor param(std::vector<double> v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  t.set_requires_grad(true);
  return t;
}

// torch.optim.Adam's documented algorithm, written out independently in double.
struct Reference {
  std::vector<double> p, m, v;
  int step = 0;
  void update(const std::vector<double>& grad, const AdamOptions& o) {
    ++step;
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + o.weight_decay * p[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(o.beta1, step));
      const double v_hat_sqrt = std::sqrt(v[i]) / std::sqrt(1 - std::pow(o.beta2, step));
      p[i] -= o.lr * m_hat / (v_hat_sqrt + o.eps);
    }
  }
};

}  // namespace

TEST_CASE("adam: three steps with weight decay match hand-computed torch.optim.Adam updates") {
  const AdamOptions opt{0.1, 0.9, 0.99, 1e-3, 0.05};  // large lr and eps so every term shows
  Tensor p = param({1.0, -2.0, 0.5, 0.0});
  Adam adam({p}, opt);
  Reference ref{{1.0, -2.0, 0.5, 0.0}, std::vector<double>(4, 0.0), std::vector<double>(4, 0.0)};
  const std::vector<std::vector<double>> grads = {{0.5, -1.0, 0.0, 2.0}, {0.1, 0.3, -0.2, 2.0}, {-0.4, 0.0, 0.1, -1.0}};
  for (const auto& g : grads) {
    p.set_grad(Tensor::from_vector(g, {4}));
    adam.step();
    ref.update(g, opt);
    const std::vector<double> got = p.to_doubles();
    for (size_t i = 0; i < 4; ++i) CHECK(got[i] == doctest::Approx(ref.p[i]).epsilon(1e-13));
  }
  CHECK(adam.step_count() == 3);
  // first step by hand for element 0: g = 0.5 + 0.05 * 1 = 0.55; m_hat = 0.55; sqrt(v_hat) = 0.55;
  // p = 1 - 0.1 * 0.55 / (0.55 + 1e-3)
  Tensor q = param({1.0});
  Adam one({q}, opt);
  q.set_grad(Tensor::from_vector(std::vector<double>{0.5}, {1}));
  one.step();
  CHECK(q.to_doubles()[0] == doctest::Approx(1 - 0.1 * 0.55 / 0.551).epsilon(1e-14));
}

TEST_CASE("adam: f32 parameters update in f32 and agree with the f64 reference") {
  const AdamOptions opt{};  // pix2pix defaults
  Generator gen(3);
  Tensor p32 = Tensor::randn({1000}, gen, DType::f32, 0, 0.02);
  Reference ref{p32.to_doubles(), std::vector<double>(1000, 0.0), std::vector<double>(1000, 0.0)};
  p32.set_requires_grad(true);
  Adam adam({p32}, opt);
  for (int s = 0; s < 3; ++s) {
    Tensor g = Tensor::randn({1000}, gen, DType::f32);
    p32.set_grad(g);
    adam.step();
    ref.update(g.to_doubles(), opt);
  }
  CHECK(p32.dtype() == DType::f32);
  const std::vector<double> got = p32.to_doubles();
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(ref.p[i]).epsilon(1e-5).scale(0.02));
}

TEST_CASE("adam: a parameter without a gradient is skipped and keeps its own step count") {
  const AdamOptions opt{0.01, 0.5, 0.999, 1e-8, 0};
  Tensor a = param({1.0}), b = param({1.0});
  Adam adam({a, b}, opt);
  a.set_grad(Tensor::from_vector(std::vector<double>{1.0}, {1}));
  adam.step();
  adam.step();
  CHECK(b.to_doubles()[0] == 1.0);  // untouched
  b.set_grad(Tensor::from_vector(std::vector<double>{-3.0}, {1}));
  adam.step();
  // b's first update: bias-corrected m_hat / sqrt(v_hat) = sign(g), so it moves by lr (up to eps)
  CHECK(b.to_doubles()[0] == doctest::Approx(1.01).epsilon(1e-9));
  adam.zero_grad();
  CHECK_FALSE(a.grad().defined());
  CHECK_FALSE(b.grad().defined());
  const double a_before = a.to_doubles()[0];
  adam.step();  // no gradients: nothing moves
  CHECK(a.to_doubles()[0] == a_before);
}

TEST_CASE("adam: saved state resumes bit-identically in a fresh optimizer") {
  const AdamOptions opt{1e-2, 0.5, 0.999, 1e-8, 1e-3};
  Generator gen(11);
  Tensor w0 = Tensor::randn({3, 5}, gen, DType::f32), b0 = Tensor::randn({5}, gen, DType::f32);
  auto make = [](const Tensor& t) { Tensor c = t.clone(); c.set_requires_grad(true); return c; };
  std::vector<Tensor> grads;
  for (int s = 0; s < 6; ++s) grads.push_back(Tensor::randn({3, 5}, gen, DType::f32));

  Tensor w = make(w0), b = make(b0);
  Adam straight({w, b}, opt);
  Tensor w2 = make(w0), b2 = make(b0);
  Adam first({w2, b2}, opt);
  for (int s = 0; s < 6; ++s) {
    w.set_grad(grads[s]);
    if (s != 1) b.set_grad(grads[s].narrow(0, 0, 1).reshape({5}));  // b skips step 1: its step count differs
    straight.step();
    straight.zero_grad();
    if (s < 3) {
      w2.set_grad(grads[s]);
      if (s != 1) b2.set_grad(grads[s].narrow(0, 0, 1).reshape({5}));
      first.step();
      first.zero_grad();
    }
  }
  std::map<std::string, Tensor> state;
  first.save_state(state, "opt.");
  CHECK(state.count("opt.step"));
  CHECK(state.count("opt.0.exp_avg"));
  CHECK(state.at("opt.1.step").to_vector<int64_t>()[0] == 2);

  Tensor w3 = make(w2.detach()), b3 = make(b2.detach());
  Adam resumed({w3, b3}, AdamOptions{5.0, 0.5, 0.999, 1e-8, 1e-3});  // the lr comes back from the state
  resumed.load_state(state, "opt.");
  CHECK(resumed.lr() == 1e-2);
  CHECK(resumed.step_count() == 3);
  for (int s = 3; s < 6; ++s) {
    w3.set_grad(grads[s]);
    b3.set_grad(grads[s].narrow(0, 0, 1).reshape({5}));
    resumed.step();
    resumed.zero_grad();
  }
  CHECK(w3.to_vector<float>() == w.to_vector<float>());
  CHECK(b3.to_vector<float>() == b.to_vector<float>());
}

TEST_CASE("adam: load_state refuses state that does not fit, naming the key") {
  Tensor p = param({1.0, 2.0});
  p.set_grad(Tensor::from_vector(std::vector<double>{1.0, 1.0}, {2}));
  Adam adam({p});
  adam.step();
  std::map<std::string, Tensor> state;
  adam.save_state(state, "g.");

  Tensor other = param({1.0, 2.0, 3.0});
  Adam wrong({other});
  CHECK(contains_all(error_message<ShapeError>([&] { wrong.load_state(state, "g."); }), {"'g.0.exp_avg'", "[2]", "[3]"}));
  Adam two({param({1.0, 2.0})});
  auto extra = state;
  extra["g.1.step"] = state.at("g.0.step");
  CHECK(error_message<ValueError>([&] { two.load_state(extra, "g."); }).find("'g.1.step'") != std::string::npos);
  auto no_step = state;
  no_step.erase("g.step");
  CHECK(error_message<ValueError>([&] { two.load_state(no_step, "g."); }).find("'g.step'") != std::string::npos);
  auto half = state;
  half.erase("g.0.exp_avg_sq");
  CHECK(error_message<ValueError>([&] { two.load_state(half, "g."); }).find("'g.0.exp_avg_sq'") != std::string::npos);
  CHECK(two.step_count() == 0);  // a refused load changes nothing
}

TEST_CASE("adam: invalid options and parameter lists are refused") {
  CHECK_THROWS_AS(Adam({param({1.0})}, AdamOptions{-1.0}), ValueError);
  CHECK_THROWS_AS(Adam({param({1.0})}, AdamOptions{1e-3, 1.0}), ValueError);
  CHECK_THROWS_AS(Adam({param({1.0})}, AdamOptions{1e-3, 0.5, 0.999, 1e-8, -1.0}), ValueError);
  Tensor p = param({1.0});
  CHECK_THROWS_AS(Adam({p, p}), ValueError);
  CHECK_THROWS_AS(Adam({Tensor::zeros({2})}), ValueError);  // does not require grad
  CHECK_THROWS_AS(Adam({Tensor()}), ValueError);
  Adam ok({p});
  CHECK_THROWS_AS(ok.set_lr(-1), ValueError);
}

TEST_CASE("adam: the linear decay schedule follows pix2pix's lambda_rule") {
  optim::LinearDecaySchedule sched(100, 100);
  CHECK(sched.factor(0) == 1.0);
  CHECK(sched.factor(99) == 1.0);  // epoch index 99 is epoch 100 of 200: still constant
  CHECK(sched.factor(100) == doctest::Approx(1.0 - 1.0 / 101));
  CHECK(sched.factor(150) == doctest::Approx(1.0 - 51.0 / 101));
  CHECK(sched.factor(199) == doctest::Approx(1.0 / 101));  // the last epoch: near zero, still positive
  for (int e = 100; e < 200; ++e) CHECK(sched.factor(e) < sched.factor(e - 1));

  optim::LinearDecaySchedule resumed(100, 100, /*epoch_count=*/51);  // continuing from epoch 51
  CHECK(resumed.factor(49) == 1.0);
  CHECK(resumed.factor(50) == doctest::Approx(1.0 - 1.0 / 101));

  Tensor p = param({1.0});
  Adam adam({p});
  sched.apply(adam, 2e-4, 150);
  CHECK(adam.lr() == doctest::Approx(2e-4 * (1.0 - 51.0 / 101)));
  CHECK_THROWS_AS(optim::LinearDecaySchedule(-1, 100), ValueError);
  CHECK_THROWS_AS(sched.factor(-1), ValueError);
}
