// Training-step benchmark: iterations/s of a whole AsynDGAN step (dist::Simulation, all sites in one process) on
// synthetic shards, for 1 and 3 sites at 64x64 and 128x128, with the share of the step spent in conv kernels.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>
#include <unistd.h>
#include "bench/step_setup.h"
#include "engine/profile.h"

using namespace asyndgan;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kBatch = 4, kSamplesPerSite = 64;
int64_t kWarmup = 2, kMinTimed = 3;  // overridable: --warmup N --min-steps N
constexpr const char* kNorm = "instance";  // pix2pix's default for the U-Net/PatchGAN pair in AsynDGAN runs

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Result {
  int64_t iterations = 0;
  double seconds = 0, conv_seconds = 0;
  std::vector<profile::Entry> entries;
};

Result run(const std::vector<std::string>& shards, int64_t size, double budget, bool profiled) {
  dist::Simulation sim(bench::make_spec(shards, size, kBatch, kNorm));
  for (int64_t i = 0; i < kWarmup; ++i) sim.step();
  profile::reset();
  profile::set_enabled(profiled);
  Result r;
  const auto t0 = Clock::now();
  while (r.iterations < kMinTimed || seconds_since(t0) < budget) {
    sim.step();
    ++r.iterations;
  }
  r.seconds = seconds_since(t0);
  profile::set_enabled(false);
  r.entries = profile::snapshot();
  for (const profile::Entry& e : r.entries)
    if (e.name.rfind("conv", 0) == 0) r.conv_seconds += e.seconds;
  return r;
}

}  // namespace

// Usage: bench_train_step_bench [budget_seconds (default 15)] [--warmup N (2)] [--min-steps N (3)] [--no-profile]
// Prints one "RESULT" line per configuration (bench/step.sh reads them) after a human-readable row.
int main(int argc, char** argv) {
  double budget = 15;
  bool profiled = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-profile") profiled = false;
    else if (a == "--warmup" && i + 1 < argc) kWarmup = std::atoll(argv[++i]);
    else if (a == "--min-steps" && i + 1 < argc) kMinTimed = std::atoll(argv[++i]);
    else budget = std::atof(argv[i]);
  }
  const fs::path dir = fs::temp_directory_path() / ("asyndgan_step_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::printf("AsynDGAN training step, CPU: U-Net (ngf 64, %s norm, dropout) + one 70x70 PatchGAN (ndf 64) per\n"
              "modality per site, vanilla GAN, lambda_L1 100, batch %lld per site, 5 condition / 4 modality channels;\n"
              "%lld warm-up steps, then at least %lld steps and %.0f s per configuration%s\n",
              kNorm, static_cast<long long>(kBatch), static_cast<long long>(kWarmup), static_cast<long long>(kMinTimed),
              budget, profiled ? " (conv kernels timed by engine/profile.h)" : "");
  std::printf("%6s %6s %6s %10s %10s %10s\n", "size", "sites", "steps", "iter/s", "images/s", "conv share");
  for (int64_t size : {64, 128}) {
    fs::create_directories(dir / std::to_string(size));
    std::vector<std::string> shards;
    for (int s = 0; s < 3; ++s) shards.push_back(bench::write_shard(dir / std::to_string(size), s, size, kSamplesPerSite));
    for (int64_t sites : {1, 3}) {
      const std::vector<std::string> use(shards.begin(), shards.begin() + sites);
      const Result r = run(use, size, budget, profiled);
      const double its = static_cast<double>(r.iterations) / r.seconds;
      const double share = r.conv_seconds / r.seconds;
      std::printf("%6lld %6lld %6lld %10.3f %10.2f %9.1f%%\n", static_cast<long long>(size), static_cast<long long>(sites),
                  static_cast<long long>(r.iterations), its, its * static_cast<double>(kBatch * sites),
                  profiled ? 100 * share : NAN);
      for (const profile::Entry& e : r.entries)
        std::printf("         %-26s %5.1f%% of the step\n", e.name.c_str(), 100 * e.seconds / r.seconds);
      std::printf("RESULT size=%lld sites=%lld its=%.6f conv_share=%.4f\n", static_cast<long long>(size),
                  static_cast<long long>(sites), its, profiled ? share : -1.0);
      std::fflush(stdout);
    }
  }
  fs::remove_all(dir);
  return 0;
}
