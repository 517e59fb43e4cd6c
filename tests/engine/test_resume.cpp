// Resuming training from a checkpoint: module state (parameters and BatchNorm running statistics), Adam
// state, the dropout generator and the step counter, loaded into fresh objects, continue bit-identically.
#include <doctest/doctest.h>
#include <memory>
#include "engine/engine.h"
#include "engine/io/checkpoint.h"
#include "engine/io/checkpoint_state.h"
#include "engine/nn/nn.h"
#include "engine/optim/adam.h"
#include "file_test_util.h"

using namespace asyndgan;

namespace {

// A tiny conv net trained with Adam and L1 on generated data; dropout draws from the run's own generator.
struct Run {
  Generator dropout_gen;
  std::shared_ptr<nn::Sequential> net = std::make_shared<nn::Sequential>();
  std::unique_ptr<optim::Adam> adam;
  int64_t step = 0;

  // init_seed / dropout_seed differ between the original and the fresh run, so only the checkpoint can
  // make them agree.
  Run(uint64_t init_seed, uint64_t dropout_seed) : dropout_gen(dropout_seed) {
    net->push_back(std::make_shared<nn::Conv2d>(3, 8, 3, 1, 1));
    net->push_back(std::make_shared<nn::BatchNorm2d>(8));
    net->push_back(std::make_shared<nn::LeakyReLU>(0.2));
    net->push_back(std::make_shared<nn::Dropout>(0.5, &dropout_gen));
    net->push_back(std::make_shared<nn::Conv2d>(8, 2, 3, 1, 1));
    net->push_back(std::make_shared<nn::Tanh>());
    Generator init(init_seed);
    nn::init_pix2pix(*net, init);
    adam = std::make_unique<optim::Adam>(net->parameters(), optim::AdamOptions{1e-3, 0.5, 0.999, 1e-8, 1e-4});
  }

  double train_step() {
    Generator data(1000 + static_cast<uint64_t>(step));  // the batch depends only on the step
    Tensor x = Tensor::randn({4, 3, 8, 8}, data);
    Tensor y = Tensor::rand({4, 2, 8, 8}, data, DType::f32, -0.9, 0.9);
    adam->zero_grad();
    Tensor loss = l1_loss(net->forward(x), y);
    loss.backward();
    adam->step();
    ++step;
    return loss.item();
  }

  Checkpoint save() const {
    Checkpoint c;
    put_module(c, "net.", *net);
    put_optimizer(c, "adam.", *adam);
    put_generator(c, "rng.dropout", dropout_gen);
    put_int(c, "step", step);
    return c;
  }

  void load(const Checkpoint& c, bool optimizer = true, bool generator = true) {
    get_module(c, "net.", *net);
    if (optimizer) get_optimizer(c, "adam.", *adam);
    if (generator) get_generator(c, "rng.dropout", dropout_gen);
    step = get_int(c, "step");
  }
};

}  // namespace

TEST_CASE("checkpoint: training resumed in fresh objects is bit-identical to an uninterrupted run") {
  test::ScratchDir dir("resume");
  const std::string path = dir.file("run.ckpt");

  Run straight(42, 7);
  std::vector<double> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(straight.train_step());

  Run first(42, 7);
  std::vector<double> got;
  for (int i = 0; i < 10; ++i) got.push_back(first.train_step());
  save_checkpoint(path, first.save());

  Run resumed(999, 0);  // different weights and dropout stream until the checkpoint is loaded
  resumed.load(load_checkpoint(path));
  CHECK(resumed.step == 10);
  for (int i = 0; i < 10; ++i) got.push_back(resumed.train_step());

  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == expected[i]);  // exact, not approximate
  }
  const auto a = straight.net->state_dict(), b = resumed.net->state_dict();
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    CHECK(a[i].second.to_vector<float>() == b[i].second.to_vector<float>());
  }
  CHECK(expected.back() < expected.front());  // it did train

  // The check above can fail: leaving out the optimizer state or the dropout stream changes the losses.
  for (int leave_out = 0; leave_out < 2; ++leave_out) {
    CAPTURE(leave_out);
    Run partial(999, 0);
    partial.load(load_checkpoint(path), /*optimizer=*/leave_out != 0, /*generator=*/leave_out != 1);
    const double l10 = partial.train_step();
    const double l11 = partial.train_step();  // the optimizer state first shows in the loss after a step
    CHECK((l10 != expected[10] || l11 != expected[11]));
  }
}
