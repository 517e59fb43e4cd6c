// Normalization fused with its activation: on the CPU the fused op is the norm op then the activation op, bit for
// bit in outputs, running statistics and gradients; its gradients match finite differences in f64; Sequential
// fuses a norm with the activation module after it without changing results, state-dict keys or indices.
#include <doctest/doctest.h>
#include <typeinfo>
#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "tests/engine/gradcheck.h"

using namespace asyndgan;
using asyndgan::test::gradcheck;
using asyndgan::test::rand_input;
using Kind = NormActivation::Kind;

namespace {

const std::vector<NormActivation> kActs = {
    {Kind::none}, {Kind::relu}, {Kind::leaky_relu, 0.2}, {Kind::tanh}, {Kind::sigmoid}, {Kind::leaky_relu, -0.5}};

Tensor activation_op(const Tensor& y, const NormActivation& a) {
  switch (a.kind) {
    case Kind::relu: return relu(y);
    case Kind::leaky_relu: return leaky_relu(y, a.negative_slope);
    case Kind::tanh: return asyndgan::tanh(y);
    case Kind::sigmoid: return sigmoid(y);
    case Kind::none: break;
  }
  return y;
}

std::vector<float> floats(const Tensor& t) { return t.to_vector<float>(); }

// Leaves with gradients: x [N, C, H, W], weight and bias [C], f32.
struct Inputs {
  Tensor x, w, b;
  explicit Inputs(uint64_t seed) {
    Generator gen(seed);
    x = Tensor::randn({3, 4, 5, 6}, gen, DType::f32, 0.5, 2.0).set_requires_grad(true);
    w = Tensor::rand({4}, gen, DType::f32, 0.5, 1.5).set_requires_grad(true);
    b = Tensor::randn({4}, gen).set_requires_grad(true);
  }
};

}  // namespace

TEST_CASE("norm fusion: fused batch_norm and instance_norm equal the norm op then the activation op, bit for bit") {
  Generator gen(3);
  const Tensor gy = Tensor::randn({3, 4, 5, 6}, gen);
  for (const NormActivation& act : kActs) {
    for (int which = 0; which < 3; ++which) {  // batch norm training, batch norm eval, instance norm
      CAPTURE(static_cast<int>(act.kind));
      CAPTURE(which);
      Inputs fused(11), plain(11);
      Tensor rm_f = Tensor::full({4}, 0.25), rv_f = Tensor::full({4}, 1.5);
      Tensor rm_p = rm_f.clone(), rv_p = rv_f.clone();
      Tensor y_f, y_p;
      if (which < 2) {
        const bool training = which == 0;
        y_f = batch_norm(fused.x, fused.w, fused.b, rm_f, rv_f, training, 0.1, 1e-5, act);
        y_p = activation_op(batch_norm(plain.x, plain.w, plain.b, rm_p, rv_p, training, 0.1, 1e-5), act);
      } else {
        y_f = instance_norm(fused.x, fused.w, fused.b, 1e-5, act);
        y_p = activation_op(instance_norm(plain.x, plain.w, plain.b, 1e-5), act);
      }
      CHECK(floats(y_f) == floats(y_p));
      CHECK(floats(rm_f) == floats(rm_p));
      CHECK(floats(rv_f) == floats(rv_p));
      y_f.backward(gy);
      y_p.backward(gy);
      CHECK(floats(fused.x.grad()) == floats(plain.x.grad()));
      CHECK(floats(fused.w.grad()) == floats(plain.w.grad()));
      CHECK(floats(fused.b.grad()) == floats(plain.b.grad()));
    }
  }
}

TEST_CASE("norm fusion: fused gradients match finite differences in f64") {
  uint64_t seed = 700;
  const Shape s = {2, 3, 3, 4};
  for (const NormActivation& act : kActs) {
    CAPTURE(static_cast<int>(act.kind));
    for (bool training : {true, false}) {
      CAPTURE(training);
      Tensor rm = rand_input({3}, seed++, -0.5, 0.5).detach();
      Tensor rv = rand_input({3}, seed++, 0.5, 1.5).detach();
      gradcheck("fused batch_norm", [&](const std::vector<Tensor>& in) {
        return batch_norm(in[0], in[1], in[2], rm, rv, training, 0.1, 1e-5, act);
      }, {rand_input(s, seed++, -2, 2), rand_input({3}, seed++, 0.5, 1.5), rand_input({3}, seed++)});
    }
    gradcheck("fused instance_norm", [&](const std::vector<Tensor>& in) {
      return instance_norm(in[0], in[1], in[2], 1e-5, act);
    }, {rand_input(s, seed++, -2, 2), rand_input({3}, seed++, 0.5, 1.5), rand_input({3}, seed++)});
    gradcheck("fused instance_norm (no affine)", [&](const std::vector<Tensor>& in) {
      return instance_norm(in[0], Tensor(), Tensor(), 1e-5, act);
    }, {rand_input(s, seed++, -2, 2)});
  }
}

TEST_CASE("norm fusion: fusable_activation names exactly the four parameterless activation modules") {
  struct MyReLU : nn::ReLU {};
  CHECK(nn::fusable_activation(nn::ReLU())->kind == Kind::relu);
  CHECK(nn::fusable_activation(nn::LeakyReLU(0.3))->kind == Kind::leaky_relu);
  CHECK(nn::fusable_activation(nn::LeakyReLU(0.3))->negative_slope == 0.3);
  CHECK(nn::fusable_activation(nn::Tanh())->kind == Kind::tanh);
  CHECK(nn::fusable_activation(nn::Sigmoid())->kind == Kind::sigmoid);
  CHECK_FALSE(nn::fusable_activation(MyReLU()).has_value());
  CHECK_FALSE(nn::fusable_activation(nn::Dropout(0.5)).has_value());
}

namespace {

// Every fusable pair, a norm followed by a non-activation, and a norm as the last layer.
std::shared_ptr<nn::Sequential> fusion_net() {
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Conv2d>(3, 6, 3, 1, 1));
  m->push_back(std::make_shared<nn::BatchNorm2d>(6));
  m->push_back(std::make_shared<nn::LeakyReLU>(0.2));
  m->push_back(std::make_shared<nn::Conv2d>(6, 6, 3, 1, 1));
  m->push_back(std::make_shared<nn::InstanceNorm2d>(6, /*affine=*/true));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(std::make_shared<nn::BatchNorm2d>(6));
  m->push_back(std::make_shared<nn::Sigmoid>());
  m->push_back(std::make_shared<nn::InstanceNorm2d>(6));
  m->push_back(std::make_shared<nn::Tanh>());
  m->push_back(std::make_shared<nn::BatchNorm2d>(6));
  m->push_back(std::make_shared<nn::Conv2d>(6, 2, 1));
  m->push_back(std::make_shared<nn::InstanceNorm2d>(2));
  return m;
}

std::vector<std::string> keys(const nn::NamedTensors& list) {
  std::vector<std::string> out;
  for (const auto& e : list) out.push_back(e.first);
  return out;
}

}  // namespace

TEST_CASE("norm fusion: Sequential fuses norm + activation with the same outputs, gradients and state dict") {
  auto fused = fusion_net(), plain = fusion_net();
  Generator init(5);
  for (auto& [name, t] : fused->state_dict())
    if (t.dtype() == DType::f32) t.copy_(Tensor::randn(t.shape(), init, DType::f32, name.find("var") != std::string::npos ? 2.0 : 0.0, 0.5).to(DType::f32));
  {
    std::map<std::string, Tensor> state;
    for (auto& [name, t] : fused->state_dict()) state[name] = t.clone();
    plain->load_state_dict(state);
  }
  CHECK(keys(fused->state_dict()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                 "1.num_batches_tracked", "3.weight", "3.bias", "4.weight", "4.bias", "6.weight",
                                 "6.bias", "6.running_mean", "6.running_var", "6.num_batches_tracked", "10.weight",
                                 "10.bias", "10.running_mean", "10.running_var", "10.num_batches_tracked",
                                 "11.weight", "11.bias"});
  for (bool training : {true, false}) {
    CAPTURE(training);
    fused->train(training);
    plain->train(training);
    Generator gen(9);
    Tensor x = Tensor::randn({2, 3, 5, 4}, gen);
    Tensor gy = Tensor::randn({2, 2, 5, 4}, gen);
    Tensor y_f = fused->forward(x);
    Tensor h = x;  // the unfused reference: every layer's own forward, in order
    for (size_t i = 0; i < plain->size(); ++i) h = (*plain)[i].forward(h);
    CHECK(floats(y_f) == floats(h));
    y_f.backward(gy);
    h.backward(gy);
    const nn::NamedTensors pf = fused->named_parameters(), pp = plain->named_parameters();
    REQUIRE(pf.size() == pp.size());
    for (size_t i = 0; i < pf.size(); ++i) {
      CAPTURE(pf[i].first);
      CHECK(floats(pf[i].second.grad()) == floats(pp[i].second.grad()));
    }
    const nn::NamedTensors sf = fused->state_dict(), sp = plain->state_dict();
    for (size_t i = 0; i < sf.size(); ++i) {
      CAPTURE(sf[i].first);
      CHECK(sf[i].second.to_doubles() == sp[i].second.to_doubles());
    }
    fused->zero_grad();
    plain->zero_grad();
  }
}
