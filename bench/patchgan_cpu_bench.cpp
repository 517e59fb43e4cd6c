// PatchGAN layer benchmark (CPU): conv2d forward, input gradient and weight gradient of each layer of the 70x70
// PatchGAN (ndf 64, n_layers 3, 6 input channels) at batch 4, 64x64 and 128x128: the discriminators' share of
// the training step (bench/train_step_bench.cpp), layer by layer. Usage: bench_patchgan_cpu_bench [filter]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include "engine/engine.h"

using namespace asyndgan;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Fastest of at least 5 runs after a warm-up (more while under ~0.5 s): the machine is shared, load only adds.
template <class F> double best_seconds(F f) {
  f();
  double best = 1e30;
  const auto start = Clock::now();
  for (int i = 0; i < 5 || (i < 30 && seconds_since(start) < 0.5); ++i) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

struct Layer {
  int64_t cin, cout, stride;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  const std::vector<Layer> layers = {{6, 64, 2}, {64, 128, 2}, {128, 256, 2}, {256, 512, 1}, {512, 1, 1}};
  constexpr int64_t kBatch = 4;
  Generator gen(7);
  std::printf("PatchGAN conv2d layers, batch %lld, 4x4 padding 1; best of >= 5 runs\n", static_cast<long long>(kBatch));
  std::printf("%-26s %8s %8s %8s %8s %8s %8s %10s\n", "layer", "fwd ms", "GFLOP/s", "dx ms", "GFLOP/s", "dw ms",
              "GFLOP/s", "step ms");
  for (int64_t size : {64, 128}) {
    double step_total = 0;
    int64_t h = size;
    for (const Layer& l : layers) {
      const int64_t oh = (h + 2 - 4) / l.stride + 1;
      const std::string label = std::to_string(l.cin) + "->" + std::to_string(l.cout) + " s" +
                                std::to_string(l.stride) + " @" + std::to_string(h);
      const int64_t in_h = h;
      h = oh;
      if (label.find(only) == std::string::npos) continue;
      Tensor x = Tensor::randn({kBatch, l.cin, in_h, in_h}, gen);
      Tensor w = Tensor::randn({l.cout, l.cin, 4, 4}, gen) * 0.05;
      const auto opt = Conv2dOptions::make(l.stride, 1);
      Tensor dy = Tensor::randn({kBatch, l.cout, oh, oh}, gen);
      const double tf = best_seconds([&] {
        NoGradGuard ng;
        conv2d(x, w, Tensor(), opt);
      });
      Tensor xg = x.detach().set_requires_grad(true), wd = w.detach();
      Tensor y1 = conv2d(xg, wd, Tensor(), opt);
      const double tx = best_seconds([&] { y1.backward(dy, /*retain_graph=*/true); });
      Tensor xd = x.detach(), wg = w.detach().set_requires_grad(true);
      Tensor y2 = conv2d(xd, wg, Tensor(), opt);
      const double tw = best_seconds([&] { y2.backward(dy, /*retain_graph=*/true); });
      const double flops = 2.0 * static_cast<double>(kBatch * oh * oh) * l.cin * l.cout * 16;
      // Per discriminator per step (dist::Site): 3 forwards (fake, real, generator loss); the weight gradient
      // of the fake and of the real pass; the input gradient of all three, except the first layer's in the D
      // step, whose input needs none.
      const double step = 3 * tf + 2 * tw + (l.cin == 6 ? 1 : 3) * tx;
      step_total += step;
      std::printf("%-26s %8.2f %8.1f %8.2f %8.1f %8.2f %8.1f %10.2f\n", label.c_str(), tf * 1e3, flops / tf / 1e9,
                  tx * 1e3, flops / tx / 1e9, tw * 1e3, flops / tw / 1e9, step * 1e3);
      std::fflush(stdout);
    }
    std::printf("%lldx%lld: one discriminator's convolutions per step %.1f ms (x4 modalities per site)\n\n",
                static_cast<long long>(size), static_cast<long long>(size), step_total * 1e3);
  }
  return 0;
}
