// CPU convolution benchmark: measures this machine's fp32 FMA peak, then times conv2d and conv_transpose2d
// (forward, and backward for input and weight) on the pix2pix U-Net layer shapes, as GFLOP/s and % of peak.
#include <omp.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#include "engine/engine.h"
#include "kernels/cpu/blas.h"


using namespace asyndgan;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ---- fp32 peak: kChains independent FMA dependency chains, enough to cover FMA latency x issue width ----
constexpr int kChains = 16;

#if defined(__AVX512F__)
constexpr int kLanes = 16;
constexpr const char* kIsa = "AVX-512 (_mm512_fmadd_ps)";
float fma_chains(int64_t iters, float seed) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kLanes = 8;
constexpr const char* kIsa = "AVX2 (_mm256_fmadd_ps)";
float fma_chains(int64_t iters, float seed) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(seed + static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  float out[8], s = 0;
  for (int i = 1; i < kChains; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  _mm256_storeu_ps(out, acc[0]);
  for (float v : out) s += v;
  return s;
}
#else
constexpr int kLanes = 8;
constexpr const char* kIsa = "GCC vector extension (no AVX2/AVX-512 at compile time)";
typedef float v8f __attribute__((vector_size(32)));
float fma_chains(int64_t iters, float seed) {
  v8f acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = v8f{} + (seed + static_cast<float>(i));
  const v8f a = v8f{} + 0.999999f, b = v8f{} + 1e-6f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * a + b;
  float s = 0;
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < 8; ++l) s += acc[i][l];
  return s;
}
#endif

// GFLOP/s of `threads` threads each running the chains; best of 5 runs (each FMA = 2 flops per lane).
double fma_peak(int threads, int64_t iters) {
  double best = 0;
  volatile float sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = Clock::now();
#pragma omp parallel num_threads(threads)
    {
      float r = fma_chains(iters, static_cast<float>(omp_get_thread_num()));
#pragma omp critical
      sink = sink + r;
    }
    const double t = seconds_since(t0);
    best = std::max(best, 2.0 * kLanes * kChains * static_cast<double>(iters) * threads / t / 1e9);
  }
  return best;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

// ---- naive reference for the validation ----
std::vector<double> naive_conv2d(const Tensor& x, const Tensor& w, int64_t s, int64_t p) {
  const auto xv = x.to_doubles(), wv = w.to_doubles();
  const int64_t n = x.size(0), ci = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t co = w.size(0), kh = w.size(2), kw = w.size(3);
  const int64_t oh = (h + 2 * p - kh) / s + 1, ow = (wd + 2 * p - kw) / s + 1;
  std::vector<double> y(n * co * oh * ow, 0.0);
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < co; ++o)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double acc = 0;
          for (int64_t c = 0; c < ci; ++c)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t iy = oy * s - p + i, ix = ox * s - p + j;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                  acc += xv[((b * ci + c) * h + iy) * wd + ix] * wv[((o * ci + c) * kh + i) * kw + j];
              }
          y[((b * co + o) * oh + oy) * ow + ox] = acc;
        }
  return y;
}

std::vector<double> naive_conv_transpose2d(const Tensor& x, const Tensor& w, int64_t s, int64_t p) {
  const auto xv = x.to_doubles(), wv = w.to_doubles();
  const int64_t n = x.size(0), ci = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t co = w.size(1), kh = w.size(2), kw = w.size(3);
  const int64_t oh = (h - 1) * s - 2 * p + kh, ow = (wd - 1) * s - 2 * p + kw;
  std::vector<double> y(n * co * oh * ow, 0.0);
  // Gather form of the scatter definition, so output pixels parallelize without races.
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < co; ++o)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double acc = 0;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t ty = oy + p - i, tx = ox + p - j;
              if (ty < 0 || tx < 0 || ty % s || tx % s || ty / s >= h || tx / s >= wd) continue;
              for (int64_t c = 0; c < ci; ++c)
                acc += xv[((b * ci + c) * h + ty / s) * wd + tx / s] * wv[((c * co + o) * kh + i) * kw + j];
            }
          y[((b * co + o) * oh + oy) * ow + ox] = acc;
        }
  return y;
}

bool validate(const char* what, const std::vector<double>& got, const std::vector<double>& want) {
  double err = 0, scale = 1e-6;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  const bool ok = got.size() == want.size() && err <= 1e-4 * scale;
  std::printf("validate %-44s max |err| %.3g (scale %.3g): %s\n", what, err, scale, ok ? "ok" : "FAILED");
  return ok;
}

// Fastest run of f after one warm-up: at least 3 runs, more while under ~0.3 s in total. The fastest, not the
// median, because the machine is shared and other load only ever adds time.
template <class F> double best_seconds(F f) {
  f();
  std::vector<double> t;
  auto start = Clock::now();
  while (t.size() < 3 || (t.size() < 15 && seconds_since(start) < 0.3)) {
    auto t0 = Clock::now();
    f();
    t.push_back(seconds_since(t0));
  }
  return *std::min_element(t.begin(), t.end());
}

struct Layer {
  int64_t cin, cout, h;  // input channels, output channels, input height = width
};

}  // namespace

int main(int argc, char** argv) {
  // Optional argument: run only the rows whose label ("conv2d b4 64->128@128") contains it.
  const std::string only = argc > 1 ? argv[1] : "";
  const int threads = omp_get_max_threads();
  const auto& blas = kern::cpu::blas_info();
  std::printf("CPU: %s, %d OpenMP threads; OpenBLAS %s (%s threads, %d), core '%s': %s\n", cpu_model().c_str(),
              threads, blas.path.c_str(), blas.threading.c_str(), kern::cpu::blas_threads(), blas.core.c_str(),
              blas.core_note.c_str());
#if defined(__AVX512F__)
  if (blas.core == "Prescott" || blas.core == "Core2" || blas.core == "Nehalem" || blas.core == "Haswell" ||
      blas.core == "Sandybridge")
    std::printf("WARNING: OpenBLAS runs its '%s' kernels on an AVX-512 CPU; set OPENBLAS_CORETYPE=SkylakeX\n",
                blas.core.c_str());
#endif

  // Peak: enough iterations for ~0.1 s per run on a few-GHz core.
  const int64_t iters = 20'000'000;
  const double peak1 = fma_peak(1, iters), peak = fma_peak(threads, iters);
  std::printf("fp32 peak (%s, %d independent chains x %d lanes x 2 flops per FMA, best of 5 x %lld iterations): "
              "%.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n",
              kIsa, kChains, kLanes, static_cast<long long>(iters), peak1, peak, threads);

  Generator gen(42);
  bool ok = true;
  {
    Tensor x = Tensor::randn({1, 3, 256, 256}, gen), w = Tensor::randn({64, 3, 4, 4}, gen);
    ok &= validate("conv2d 3->64 @256 4x4 s2 p1 vs naive", conv2d(x, w, Tensor(), Conv2dOptions::make(2, 1)).to_doubles(),
                   naive_conv2d(x, w, 2, 1));
    Tensor z = Tensor::randn({1, 64, 128, 128}, gen), wt = Tensor::randn({64, 3, 4, 4}, gen);
    ok &= validate("conv_transpose2d 64->3 @128 4x4 s2 p1 vs naive",
                   conv_transpose2d(z, wt, Tensor(), ConvTranspose2dOptions::make(2, 1)).to_doubles(),
                   naive_conv_transpose2d(z, wt, 2, 1));
  }
  if (!ok) return 1;

  const std::vector<Layer> down = {{3, 64, 256},  {64, 128, 128}, {128, 256, 64}, {256, 512, 32},
                                   {512, 512, 16}, {512, 512, 8},  {512, 512, 4},  {512, 512, 2}};
  std::printf("\nbest of >= 3 runs; backward = input and weight gradients (2x the forward flops)\n");
  std::printf("%-18s %-5s %-26s %9s %9s %7s %9s %9s %7s\n", "op", "batch", "layer (4x4 s2 p1)", "fwd ms",
              "GFLOP/s", "%peak", "bwd ms", "GFLOP/s", "%peak");
  for (int transposed = 0; transposed < 2; ++transposed) {
    for (int64_t batch : {1, 4}) {
      for (size_t li = 0; li < down.size(); ++li) {
        // The transposed layers mirror the down path: 512->512 from 1x1 up to 64->3 onto 256x256.
        const Layer l = transposed ? Layer{down[down.size() - 1 - li].cout, down[down.size() - 1 - li].cin,
                                           down[down.size() - 1 - li].h / 2}
                                   : down[li];
        const std::string label = std::string(transposed ? "conv_transpose2d" : "conv2d") + " b" +
                                  std::to_string(batch) + " " + std::to_string(l.cin) + "->" +
                                  std::to_string(l.cout) + "@" + std::to_string(l.h);
        if (label.find(only) == std::string::npos) continue;
        const Shape wshape = transposed ? Shape{l.cin, l.cout, 4, 4} : Shape{l.cout, l.cin, 4, 4};
        Tensor x = Tensor::randn({batch, l.cin, l.h, l.h}, gen).set_requires_grad(true);
        Tensor w = (Tensor::randn(wshape, gen) * 0.05).detach().set_requires_grad(true);
        auto fwd = [&] {
          return transposed ? conv_transpose2d(x, w, Tensor(), ConvTranspose2dOptions::make(2, 1))
                            : conv2d(x, w, Tensor(), Conv2dOptions::make(2, 1));
        };
        Tensor y = fwd();
        // Multiply-adds: every input pixel of the transposed op (output pixel of conv2d) meets Cin*Cout*16 taps.
        const int64_t pixels = transposed ? batch * l.h * l.h : y.numel() / l.cout;
        const double flops = 2.0 * static_cast<double>(pixels) * l.cin * l.cout * 16;
        const double tf = best_seconds([&] {
          NoGradGuard ng;
          fwd();
        });
        Tensor dy = Tensor::randn(y.shape(), gen);
        const double tb = best_seconds([&] {
          x.zero_grad();
          w.zero_grad();
          y.backward(dy, /*retain_graph=*/true);
        });
        const double gf = flops / tf / 1e9, gb = 2 * flops / tb / 1e9;
        std::printf("%-18s %-5lld %4lld->%-4lld @%3lldx%-3lld      %9.2f %9.1f %6.0f%% %9.2f %9.1f %6.0f%%\n",
                    transposed ? "conv_transpose2d" : "conv2d", static_cast<long long>(batch),
                    static_cast<long long>(l.cin), static_cast<long long>(l.cout), static_cast<long long>(l.h),
                    static_cast<long long>(l.h), tf * 1e3, gf, 100 * gf / peak, tb * 1e3, gb, 100 * gb / peak);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
