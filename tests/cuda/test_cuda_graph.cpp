// CUDA graphs: a training step (conv, batch norm, dropout, losses, backward, Adam) run eagerly and run as one
// eager warm-up, a capture and replays gives the same losses, weights, statistics and generator state; dropout's
// masks move on every replay; memory stays flat across replays; dropping the graph's tensors or the graph
// itself leaves later replays and eager steps right; a host copy inside a capture is a clear error.
#include <doctest/doctest.h>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include "cuda/cuda_case.h"
#include "engine/cuda_graph.h"
#include "base/cuda_runtime.h"
#include "engine/numerics.h"
#include "engine/nn/nn.h"
#include "engine/optim/adam.h"

using namespace asyndgan;
using namespace asyndgan::test;

namespace {

// One static-shape training step; its inputs live on the device from construction on (allocated before any
// capture, as a graph's inputs must be).
struct TrainStep {
  std::shared_ptr<nn::Conv2d> conv1 = std::make_shared<nn::Conv2d>(3, 8, 3, 1, 1);
  std::shared_ptr<nn::BatchNorm2d> bn = std::make_shared<nn::BatchNorm2d>(8);
  std::shared_ptr<nn::Conv2d> conv2 = std::make_shared<nn::Conv2d>(8, 2, 3, 2, 1);
  std::unique_ptr<optim::Adam> adam;
  Generator gen{77};
  Tensor x, t;

  TrainStep(const Tensor& x_host, const Tensor& t_host) : x(x_host.to(kGpu)), t(t_host.to(kGpu)) {
    std::vector<Tensor> params;
    for (nn::Module* m : modules()) {
      m->to(kGpu);
      for (const Tensor& p : m->parameters()) params.push_back(p);
    }
    adam = std::make_unique<optim::Adam>(params);
  }
  std::vector<nn::Module*> modules() { return {conv1.get(), bn.get(), conv2.get()}; }

  Tensor operator()() {
    adam->zero_grad();
    const Tensor h = dropout(relu((*bn)(conv1->forward(x))), 0.3, true, gen);
    const Tensor y = conv2->forward(h);
    const Tensor loss = l1_loss(y, t) + 0.1 * mean(y * y);  // mean's backward: a fill from the device scalar
    loss.backward();
    adam->step();
    return loss;
  }

  void check_same_as(TrainStep& other) {
    for (size_t k = 0; k < modules().size(); ++k) {
      const auto mine = modules()[k]->state_dict(), theirs = other.modules()[k]->state_dict();
      REQUIRE(mine.size() == theirs.size());
      for (size_t i = 0; i < mine.size(); ++i) {
        CAPTURE(mine[i].first);
        CHECK(relative_error(mine[i].second, theirs[i].second) <= 1e-6);
      }
    }
    CHECK(adam->step_count() == other.adam->step_count());
    CHECK(gen.offset() == other.gen.offset());
    std::map<std::string, Tensor> a, b;
    adam->save_state(a, "");
    other.adam->save_state(b, "");
    REQUIRE(a.size() == b.size());
    for (const auto& [k, v] : a) {
      CAPTURE(k);
      CHECK(relative_error(v, b.at(k)) <= 1e-6);
    }
  }
};

struct DeterministicConvs : NumericsScope {
  DeterministicConvs() : NumericsScope(deterministic()) {}
  static Numerics deterministic() {
    Numerics n = numerics();
    n.deterministic = true;
    return n;
  }
};

bool same_loss(double a, double b) { return std::fabs(a - b) <= 1e-6 * std::max(1.0, std::fabs(b)); }

}  // namespace

TEST_CASE("CUDA graph: a captured training step replays exactly the eager steps") {
  DeterministicConvs deterministic;
  Generator data(11);
  const Tensor x = Tensor::randn({4, 3, 16, 16}, data), t = Tensor::randn({4, 2, 8, 8}, data);
  manual_seed(5);
  TrainStep eager(x, t);
  manual_seed(5);
  TrainStep graphed(x, t);
  constexpr int kSteps = 8, kNewLr = 4, kDrop = kSteps - 1;

  std::vector<double> expected;
  for (int i = 0; i < kSteps; ++i) {
    if (i == kNewLr) eager.adam->set_lr(1e-3);
    expected.push_back(eager().item());
  }

  CHECK(same_loss(graphed().item(), expected[0]));  // warm-up: cuDNN's algorithms, Adam's state
  auto graph = std::make_unique<CudaGraph>(kGpu);
  CHECK_FALSE(CudaGraph::capturing(kGpu));
  graph->capture_begin();
  CHECK(CudaGraph::capturing(kGpu));
  CHECK(CudaGraph::current(kGpu) == graph.get());
  Tensor loss = graphed();
  graph->capture_end();
  CHECK_FALSE(CudaGraph::capturing(kGpu));
  REQUIRE(graph->captured());
  CHECK(graphed.gen.offset() == eager.gen.offset() / kSteps);  // the capture drew nothing: one step's worth so far

  cuda_rt::MemoryStats first{};
  for (int i = 1; i < kSteps; ++i) {
    CAPTURE(i);
    if (i == kNewLr) graphed.adam->set_lr(1e-3);
    if (i == kDrop) {  // the pool's tensors dropped: their blocks stay reserved to the graph
      loss = Tensor();
      graphed.adam->zero_grad();
    }
    graph->replay();
    if (loss.defined()) CHECK(same_loss(loss.item(), expected[i]));
    cuda_rt::synchronize(0);
    const cuda_rt::MemoryStats now = cuda_rt::memory_stats(0);
    if (i == 1) first = now;
    CHECK(now.device_mallocs == first.device_mallocs);
    if (i < kDrop) CHECK(now.allocated == first.allocated);
    else CHECK(now.allocated < first.allocated);
  }
  graphed.check_same_as(eager);

  // Eager steps after replays, and after the graph is gone (its pool returns to the general cache).
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    if (round == 1) {
      const int64_t mallocs = cuda_rt::memory_stats(0).device_mallocs;
      graph.reset();
      graphed().item();
      eager().item();
      CHECK(cuda_rt::memory_stats(0).device_mallocs == mallocs);  // the old pool's blocks were reused
    } else {
      CHECK(same_loss(graphed().item(), eager().item()));
    }
    graphed.check_same_as(eager);
  }
}

TEST_CASE("CUDA graph: captured dropout draws on every replay what eager calls draw, from the same offsets") {
  const Tensor x = Tensor::ones({3, 37}).to(kGpu);
  Generator eager_gen(5), graph_gen(5);
  eager_gen.reserve(3);
  graph_gen.reserve(3);
  CudaGraph graph(kGpu);
  graph.capture_begin();
  const Tensor y = dropout(x, 0.5, true, graph_gen);
  const Tensor z = dropout(x, 0.5, true, graph_gen);  // a second draw from the same generator
  graph.capture_end();
  CHECK(graph_gen.offset() == 3);  // the capture itself drew nothing
  std::vector<double> previous;
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    if (i == 2) {  // a reseeded generator: the replay reads the seed too
      eager_gen.set_state(99, 1);
      graph_gen.set_state(99, 1);
    }
    graph.replay();
    const std::vector<double> ey = dropout(x, 0.5, true, eager_gen).to_doubles();
    const std::vector<double> ez = dropout(x, 0.5, true, eager_gen).to_doubles();
    CHECK(y.to_doubles() == ey);
    CHECK(z.to_doubles() == ez);
    CHECK(graph_gen.offset() == eager_gen.offset());
    CHECK(ey != previous);
    previous = ey;
  }
}

TEST_CASE("CUDA graph: misuse is a clear error, and an aborted capture leaves the stream usable") {
  CudaGraph graph(kGpu);
  CHECK_THROWS_AS(graph.replay(), ValueError);
  CHECK_THROWS_AS(graph.capture_end(), ValueError);
  const Tensor a = Tensor::ones({16}).to(kGpu);
  {
    CudaGraph failing(kGpu);
    failing.capture_begin();
    CudaGraph other(kGpu);
    CHECK_THROWS_AS(other.capture_begin(), ValueError);  // one capture per device at a time
    try {
      (a * 2.0).to(Device::cpu());  // a device-to-host copy cannot be captured
      FAIL("no error for a host copy inside a capture");
    } catch (const DeviceError& e) {
      CHECK_MESSAGE(std::string(e.what()).find("while a CUDA graph captures") != std::string::npos, e.what());
    }
  }  // destroyed mid-capture: the capture is ended and discarded
  CHECK_FALSE(CudaGraph::capturing(kGpu));
  CHECK((a * 3.0).to_doubles() == std::vector<double>(16, 3.0));
  graph.capture_begin();
  const Tensor b = a * 4.0;
  graph.capture_end();
  graph.replay();
  CHECK(b.to_doubles() == std::vector<double>(16, 4.0));
  CHECK_THROWS_AS(graph.capture_begin(), ValueError);  // captured once
}
