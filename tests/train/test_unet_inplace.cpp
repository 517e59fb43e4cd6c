// The U-Net's skip concat written in place and its down norms fused with the next level's LeakyReLU: output,
// gradients and state identical (bit for bit, on the CPU) to the copying, unfused structure kept here as the
// reference, and each level's output is the buffer its producers wrote.
#include <doctest/doctest.h>
#include <map>
#include "engine/autograd.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/nn/sequential.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "models/unet_generator.h"
#include "train/unet_reference.h"

using namespace asyndgan;
using namespace asyndgan::models;

namespace {

struct Run {
  Tensor y, gx;
  std::map<std::string, std::vector<float>> grads, state;
};

std::vector<float> bits(const Tensor& t) { return t.to(DType::f32).to_vector<float>(); }

// One forward and backward (dL/dy a fixed random tensor) from the same parameters, buffers and dropout stream.
Run run_once(UnetGenerator& g, const nn::NamedTensors& initial, Generator& drop, bool reference, bool training) {
  g.load_state_dict(initial);
  g.zero_grad();
  g.train(training);
  drop.set_state(21, 0);
  Generator gen(5);
  Tensor x = Tensor::randn({2, 3, 64, 64}, gen).set_requires_grad(true);
  Run r;
  r.y = reference ? test::unet_reference_forward(*g.named_children().at(0).second, x) : g.forward(x);
  r.y.backward(Tensor::randn(r.y.shape(), gen));
  r.gx = x.grad();
  for (const auto& [name, p] : g.named_parameters())  // a cancelled bias (instance norm) has no gradient in both
    r.grads[name] = p.grad().defined() ? bits(p.grad()) : std::vector<float>{};
  for (const auto& [name, t] : g.state_dict()) r.state[name] = bits(t);
  return r;
}

}  // namespace

TEST_CASE("U-Net with the skip concat in place: output, gradients and state dict identical to the copying structure") {
  for (NormKind norm : {NormKind::batch, NormKind::instance})
    for (bool training : {true, false}) {
      CAPTURE(norm_name(norm));
      CAPTURE(training);
      UnetGenerator g(3, 2, 6, 4, norm, /*dropout=*/true);  // 6 levels: one with dropout
      Generator drop;
      for (auto& [name, m] : g.named_modules())
        if (auto* d = dynamic_cast<nn::Dropout*>(m)) d->set_generator(drop);
      nn::NamedTensors initial;
      for (const auto& [name, t] : g.state_dict()) initial.emplace_back(name, t.clone().detach());
      const Run ref = run_once(g, initial, drop, /*reference=*/true, training);
      const Run now = run_once(g, initial, drop, /*reference=*/false, training);
      CHECK(bits(now.y) == bits(ref.y));
      CHECK(bits(now.gx) == bits(ref.gx));
      CHECK(now.grads.size() == ref.grads.size());
      for (const auto& [name, v] : ref.grads) CHECK_MESSAGE(now.grads.at(name) == v, name);
      for (const auto& [name, v] : ref.state) CHECK_MESSAGE(now.state.at(name) == v, name);
    }
}

TEST_CASE("U-Net level: the output is the buffer the skip's LeakyReLU and the up path wrote (no concat copy)") {
  UnetGenerator g(3, 2, 5, 4, NormKind::batch, false);
  // The level below the outermost: model.model.1.
  auto& block = dynamic_cast<UnetSkipBlock&>(test::unet_layers(*g.named_children().at(0).second)[1]);
  Generator gen(3);
  Tensor x = Tensor::randn({2, 4, 16, 16}, gen).set_requires_grad(true);
  Tensor out = block.new_output(x);
  CHECK(out.shape() == Shape{2, 8, 16, 16});
  Tensor skip = activation_into(x, block.down_activation(), out.narrow(1, 0, 4));
  Tensor y = block.forward_activated(skip, out);
  CHECK(skip.impl().storage == out.impl().storage);
  CHECK(y.impl().storage == out.impl().storage);
  CHECK(y.raw_data() == out.raw_data());
  CHECK(y.shape() == out.shape());
  CHECK(bits(y) == bits(test::unet_reference_forward(block, x)));
  // forward allocates the same buffer itself.
  Tensor z = block.forward(x);
  CHECK(z.is_contiguous());
  CHECK(bits(z) == bits(y));
  CHECK_THROWS_AS(block.new_output(Tensor::empty({2, 5, 16, 16})), ShapeError);
}
