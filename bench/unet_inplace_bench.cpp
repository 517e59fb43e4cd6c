// A/B in one process: the U-Net generator's forward + backward on the CPU with the skip concat written in place
// and the down norms fused (A: UnetGenerator::forward) against the copying, unfused structure (B: the tests'
// reference). Results are checked bit for bit first, then timed alternately.
// Usage: bench_unet_inplace_bench [reps=5] [ngf=64]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "engine/autograd.h"
#include "engine/rng.h"
#include "models/unet_generator.h"
#include "../tests/train/unet_reference.h"

using namespace asyndgan;

namespace {

double step(models::UnetGenerator& g, const Tensor& x, const Tensor& dy, bool reference, Tensor* y_out = nullptr) {
  g.zero_grad();
  const auto t0 = std::chrono::steady_clock::now();
  Tensor y = reference ? test::unet_reference_forward(*g.named_children().at(0).second, x) : g.forward(x);
  y.backward(dy);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (y_out) *y_out = y.detach();
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const int64_t ngf = argc > 2 ? std::atoll(argv[2]) : 64;
  std::printf("size  batch  ngf  in-place+fused ms  copying ms  ratio\n");
  for (int64_t size : {64, 128}) {
    const int64_t downs = size == 64 ? 6 : 7;
    models::UnetGenerator g(5, 4, downs, ngf, models::NormKind::batch, /*dropout=*/false);
    g.eval();  // running statistics stay put, so every repetition computes the same thing
    Generator gen(1);
    Tensor x = Tensor::randn({4, 5, size, size}, gen);
    Tensor dy = Tensor::randn({4, 4, size, size}, gen);
    Tensor ya, yb;
    step(g, x, dy, false, &ya);
    step(g, x, dy, true, &yb);
    if (ya.to_vector<float>() != yb.to_vector<float>()) {
      std::fprintf(stderr, "outputs differ at %lld\n", static_cast<long long>(size));
      return 1;
    }
    std::vector<double> a, b;
    for (int r = 0; r < reps; ++r) {
      a.push_back(step(g, x, dy, false));
      b.push_back(step(g, x, dy, true));
    }
    std::printf("%4lld  %5d  %3lld  %17.1f  %10.1f  %5.3f\n", static_cast<long long>(size), 4,
                static_cast<long long>(ngf), 1e3 * median(a), 1e3 * median(b), median(a) / median(b));
  }
  return 0;
}
