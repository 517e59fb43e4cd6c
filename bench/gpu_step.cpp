// GPU training-step benchmark: ms per AsynDGAN iteration (dist::Simulation with G and every D on cuda:0:
// unet_256 + one 70x70 PatchGAN per modality, 4 modalities, 5 condition channels), images/s, achieved conv
// TFLOP/s (bench/step_flops.h), its share of the card's bf16 GEMM rate, and peak device memory.
//
//   bench_gpu_step [--sites 1,4] [--size 256] [--batch 16] [--precision bf16|fp32] [--iters 20] [--warmup 3]
//                  [--samples 32] [--gemm-json kernels.jsonl] [--json out.jsonl]
// --gemm-json reads the bf16 GEMM rate that bench_cuda_kernels_bench measured (its "gemm" line for bf16).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <unistd.h>
#include "bench/step_flops.h"
#include "bench/step_setup.h"
#include "base/cuda_runtime.h"
#include "engine/io/json.h"

using namespace asyndgan;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kCond = 5, kModalities = 4;
constexpr const char* kNorm = "instance";  // as bench/train_step_bench.cpp and bench/pytorch_step.py

// The bf16 GEMM TFLOP/s from the kernels bench's JSON lines, or 0 when absent.
double read_gemm_rate(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    try {
      const Json j = parse_json(line, path);
      if (j.value("bench", "") == "gemm" && j.value("dtype", "") == "bf16") return j.at("tflops").get<double>();
    } catch (const std::exception&) {
    }
  }
  return 0;
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) v.push_back(std::atoll(item.c_str()));
  return v;
}

}  // namespace

int run(int argc, char** argv) {
  std::vector<int64_t> site_counts = {1, 4};
  int64_t size = 256, batch = 16, iters = 20, warmup = 3, samples = 32;
  std::string precision = "bf16", json_path, gemm_json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sites") site_counts = parse_list(next());
    else if (a == "--size") size = std::atoll(next().c_str());
    else if (a == "--batch") batch = std::atoll(next().c_str());
    else if (a == "--iters") iters = std::atoll(next().c_str());
    else if (a == "--warmup") warmup = std::atoll(next().c_str());
    else if (a == "--samples") samples = std::atoll(next().c_str());
    else if (a == "--precision") precision = next();
    else if (a == "--json") json_path = next();
    else if (a == "--gemm-json") gemm_json = next();
    else {
      std::fprintf(stderr, "unknown argument %s (see the comment at the top of bench/gpu_step.cpp)\n", a.c_str());
      return 2;
    }
  }
  if (precision != "bf16" && precision != "fp32") {
    std::fprintf(stderr, "--precision must be bf16 or fp32\n");
    return 2;
  }
  if (cuda_rt::device_count() == 0) {
    std::fprintf(stderr, "bench_gpu_step: no CUDA device\n");
    return 1;
  }
  const double gemm_tflops = gemm_json.empty() ? 0 : read_gemm_rate(gemm_json);
  std::FILE* json = json_path.empty() ? nullptr : std::fopen(json_path.c_str(), "a");

  const fs::path dir = fs::temp_directory_path() / ("asyndgan_gpu_step_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int64_t max_sites = 0;
  for (int64_t s : site_counts) max_sites = std::max(max_sites, s);
  std::vector<std::string> shards;
  for (int s = 0; s < max_sites; ++s) shards.push_back(bench::write_shard(dir, s, size, std::max(samples, batch)));

  std::printf("AsynDGAN step on %s: unet (ngf 64, %s norm, dropout) + 70x70 PatchGAN per modality, %lld modalities, "
              "%lldx%lld, batch %lld per site, %s; %lld warm-up, median of %lld iterations\n",
              cuda_rt::device_name(0), kNorm, static_cast<long long>(kModalities), static_cast<long long>(size),
              static_cast<long long>(size), static_cast<long long>(batch), precision.c_str(), static_cast<long long>(warmup),
              static_cast<long long>(iters));
  std::printf("%6s %10s %10s %12s %10s %10s %12s\n", "sites", "ms/iter", "images/s", "TFLOP/iter", "TFLOP/s",
              "% bf16 GEMM", "peak MiB");
  for (int64_t sites : site_counts) {
    dist::SimulationSpec spec = bench::make_spec({shards.begin(), shards.begin() + sites}, size, batch, kNorm);
    spec.options.device = Device::cuda(0);
    spec.options.numerics.precision = precision == "bf16" ? Precision::bf16 : Precision::fp32;
    dist::Simulation sim(std::move(spec));
    for (int64_t i = 0; i < warmup; ++i) sim.step();
    cuda_rt::synchronize(0);
    cuda_rt::reset_peak_memory(0);
    // Host clock around a synchronized iteration: the step includes host work (the loader, messages), which
    // device events alone would miss.
    std::vector<double> ms;
    for (int64_t i = 0; i < iters; ++i) {
      const auto t0 = Clock::now();
      sim.step();
      cuda_rt::synchronize(0);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    const double flops = bench::asyndgan_step_flops(size, batch, sites, kCond, kModalities);
    const double tflops = flops / (med * 1e-3) / 1e12;
    const double pct = gemm_tflops > 0 ? 100 * tflops / gemm_tflops : -1;
    const cuda_rt::MemoryStats mem = cuda_rt::memory_stats(0);
    const double images = static_cast<double>(batch * sites) / (med * 1e-3);
    std::printf("%6lld %10.2f %10.1f %12.3f %10.1f %10.1f%% %12.0f\n", static_cast<long long>(sites), med, images,
                flops / 1e12, tflops, pct, static_cast<double>(mem.peak_allocated) / (1 << 20));
    std::fflush(stdout);
    if (json) {
      const Json line = {{"bench", "gpu_step"}, {"impl", "asyndgan"}, {"precision", precision}, {"sites", sites},
                         {"size", size}, {"batch", batch}, {"ms", med}, {"ms_min", ms.front()}, {"images_per_s", images},
                         {"tflop_per_iter", flops / 1e12}, {"tflops", tflops}, {"bf16_gemm_tflops", gemm_tflops},
                         {"roofline_pct", pct}, {"peak_bytes", mem.peak_allocated}};
      std::fprintf(json, "%s\n", dump_json(line).c_str());
      std::fflush(json);
    }
  }
  if (json) std::fclose(json);
  fs::remove_all(dir);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu_step: %s\n", e.what());
    return 1;
  }
}
