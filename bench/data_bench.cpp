// Data pipeline benchmark: shard write/verify speed, loader throughput (samples/s) on 256x256 samples with
// 5 condition and 4 image channels from a warm page cache, and `prepare` throughput (volumes/s) on a phantom.
// usage: bench_data_bench [--samples 2000] [--threads 2] [--subjects 4] [--skip-prepare] [--dir TMP]
#include <sys/resource.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>
#include "data/dataset.h"
#include "data/loader.h"
#include "data/phantom.h"
#include "data/prepare.h"
#include "data/shard.h"

using namespace asyndgan;
using namespace asyndgan::data;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int64_t kSide = 256, kCond = 5, kImg = 4, kTemplates = 8;

// A few distinct BraTS-like samples (a brain disc with a tumor of three classes, smooth images in [-1, 1]);
// decoding cost does not depend on content, so the shard cycles through them.
void make_template(int t, std::vector<float>& cond, std::vector<float>& img) {
  const int64_t P = kSide * kSide;
  cond.assign(kCond * P, 0.0f);
  img.assign(kImg * P, -1.0f);
  const double cx = 128 + 10 * std::sin(t), cy = 128 + 10 * std::cos(t), tx = cx + 30, ty = cy - 20;
  for (int64_t y = 0; y < kSide; ++y)
    for (int64_t x = 0; x < kSide; ++x) {
      const int64_t p = y * kSide + x;
      const double rb = std::hypot(x - cx, (y - cy) * 1.2), rt = std::hypot(x - tx, y - ty);
      const bool brain = rb < 95;
      const int cls = !brain ? 0 : rt < 8 ? 1 : rt < 14 ? 3 : rt < 25 ? 2 : 0;
      cond[cls * P + p] = 1.0f;
      cond[4 * P + p] = brain ? 1.0f : 0.0f;
      if (brain)
        for (int64_t m = 0; m < kImg; ++m)
          img[m * P + p] = static_cast<float>(std::clamp(0.6 * std::sin(0.05 * x * (m + 1) + t) * std::cos(0.07 * y) + 0.3 * (cls - 1.0) / 3, -1.0, 1.0));
    }
}

// Max and mean absolute round-trip error of the images (float16) and conditions (u8) of the templates.
void report_quantization(const Shard& shard) {
  double img_max = 0, img_sum = 0, cond_max = 0;
  int64_t img_n = 0;
  std::vector<float> cond, img, cond_back(kCond * kSide * kSide), img_back(kImg * kSide * kSide);
  for (int t = 0; t < kTemplates && t < shard.size(); ++t) {
    make_template(t, cond, img);
    shard.read_condition(t, cond_back.data());
    shard.read_image(t, img_back.data());
    for (size_t k = 0; k < img.size(); ++k) {
      const double e = std::fabs(static_cast<double>(img_back[k]) - img[k]);
      img_max = std::max(img_max, e);
      img_sum += e;
      ++img_n;
    }
    for (size_t k = 0; k < cond.size(); ++k) cond_max = std::max(cond_max, std::fabs(static_cast<double>(cond_back[k]) - cond[k]));
  }
  std::printf("  round trip: images (float16, values in [-1, 1]) max |error| %.3g (bound 2^-12 = %.3g), mean %.3g; "
              "one-hot conditions max |error| %g\n", img_max, std::ldexp(1.0, -12), img_sum / static_cast<double>(img_n), cond_max);
}

double write_shard(const std::string& path, int64_t samples) {
  ShardHeader h;
  h.site = "bench";
  h.height = h.width = kSide;
  h.condition_channels = {"background", "ncr", "ed", "et", "brain"};
  h.image_channels = {"t1", "t1ce", "t2", "flair"};
  std::vector<std::vector<float>> cond(kTemplates), img(kTemplates);
  for (int t = 0; t < kTemplates; ++t) make_template(t, cond[t], img[t]);
  const auto t0 = Clock::now();
  ShardWriter w(path, h);
  for (int64_t i = 0; i < samples; ++i)
    w.add(cond[i % kTemplates].data(), img[i % kTemplates].data(),
          {"subject-" + std::to_string(i / 80), static_cast<int32_t>(i % 80), Split::train, 0b1111u});
  w.finish();
  return seconds_since(t0);
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

struct Rate {
  double samples_per_s, cpu_per_sample;  // wall-clock rate; CPU seconds (all threads, user + system) per sample
};

// next() after a short warm-up, for about `budget` seconds. The CPU time per sample is what the loader
// costs whatever else runs on the machine; the wall-clock rate also depends on the cores being free.
Rate loader_rate(const std::shared_ptr<Shard>& shard, int64_t batch, int64_t crop, int threads, double budget) {
  LoaderOptions o;
  o.batch_per_site = batch;
  o.crop = crop;
  o.flip = crop > 0;
  o.seed = 1;
  o.prefetch = 4;
  o.threads = threads;
  Loader loader({shard}, o);
  for (int i = 0; i < 3; ++i) loader.next();
  const auto t0 = Clock::now();
  const double c0 = process_cpu_seconds();
  int64_t n = 0;
  double elapsed = 0;
  do {
    Batch b = loader.next();
    n += static_cast<int64_t>(b.indices.size());
  } while ((elapsed = seconds_since(t0)) < budget);
  return {static_cast<double>(n) / elapsed, (process_cpu_seconds() - c0) / static_cast<double>(n)};
}

void bench_prepare(const std::string& dir, int subjects) {
  PhantomOptions po;
  po.sites = 2;
  po.subjects_per_site = std::max(1, subjects / 2);
  const std::string raw = dir + "/phantom", out = dir + "/prepared";
  auto t0 = Clock::now();
  write_phantom(raw, po);
  const double gen = seconds_since(t0);
  const Dataset ds = scan_brats(raw);
  t0 = Clock::now();
  const PrepareReport r = prepare_dataset(ds, out, PrepareOptions{});
  const double wall = seconds_since(t0);
  std::printf("\nprepare: phantom of %d sites x %d subjects at %lldx%lldx%lld (generated in %.1f s)\n", po.sites,
              po.subjects_per_site, static_cast<long long>(po.size[0]), static_cast<long long>(po.size[1]),
              static_cast<long long>(po.size[2]), gen);
  std::printf("  %lld volumes (%lld subjects) -> %lld samples in %.2f s: %.2f volumes/s (%.2f subjects/s)\n",
              static_cast<long long>(r.volumes), static_cast<long long>(r.subjects), static_cast<long long>(r.samples),
              wall, static_cast<double>(r.volumes) / wall, static_cast<double>(r.subjects) / wall);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t samples = 2000;
  int threads = 2, subjects = 4;
  bool prepare = true;
  std::string base = std::filesystem::temp_directory_path().string();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--samples") samples = std::stoll(value());
    else if (a == "--threads") threads = std::stoi(value());
    else if (a == "--subjects") subjects = std::stoi(value());
    else if (a == "--dir") base = value();
    else if (a == "--skip-prepare") prepare = false;
    else { std::fprintf(stderr, "usage: bench_data_bench [--samples N] [--threads T] [--subjects N] [--skip-prepare] [--dir TMP]\n"); return 2; }
  }
  const std::string dir = base + "/asyndgan_data_bench_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/bench.shard";
  try {
    const double wsec = write_shard(path, samples);
    const double bytes = static_cast<double>(std::filesystem::file_size(path));
    std::printf("shard: %lld samples of %lldx%lld, %lld condition (u8) + %lld image (float16) channels, %.2f GB\n",
                static_cast<long long>(samples), static_cast<long long>(kSide), static_cast<long long>(kSide),
                static_cast<long long>(kCond), static_cast<long long>(kImg), bytes / 1e9);
    std::printf("  write: %.2f s, %.0f samples/s (including fsync)\n", wsec, samples / wsec);
    for (int pass = 0; pass < 2; ++pass) {  // the first pass may read from disk; the second is warm
      const auto t0 = Clock::now();
      auto s = Shard::open(path, true);
      const double sec = seconds_since(t0);
      std::printf("  open + CRC-32 check (%s): %.3f s, %.2f GB/s\n", pass ? "warm" : "first", sec, bytes / 1e9 / sec);
    }
    auto shard = Shard::open(path, false);
    report_quantization(*shard);
    std::printf("\nloader: next() with prefetch 4 and %d decode threads\n", threads);
    std::printf("  %-6s %-22s %12s %20s %22s\n", "batch", "augmentation", "samples/s", "CPU ms per sample", "capacity of 2 cores");
    for (int64_t batch : {4, 16})
      for (int64_t crop : {0, 224}) {
        const Rate r = loader_rate(shard, batch, crop, threads, 3.0);
        std::printf("  %-6lld %-22s %12.0f %20.3f %22.0f\n", static_cast<long long>(batch), crop ? "crop 224 + flip" : "none (256x256)",
                    r.samples_per_s, 1e3 * r.cpu_per_sample, 2.0 / r.cpu_per_sample);
      }
    if (prepare) bench_prepare(dir, subjects);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
