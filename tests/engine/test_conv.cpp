// conv2d and conv_transpose2d against a naive direct oracle (random configurations, f32), float64
// finite-difference gradchecks on the pix2pix layer shapes, and the argument errors.
#include <doctest/doctest.h>
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include "engine/engine.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_lowered.h"
#include "kernels/cpu/conv_winograd.h"
#include "tests/engine/gradcheck.h"


using namespace asyndgan;

namespace {

// One convolution problem. For conv2d, cin/cout are the input/output channels of weight [cout, cin, kh, kw];
// for the transposed op the weight is [cin, cout, kh, kw] and H/W are the input's.
struct Config {
  int64_t n, cin, cout, h, w, kh, kw, sh, sw, ph, pw, oph = 0, opw = 0;
  bool bias;
};

std::string describe(const Config& c) {
  return msg("N=", c.n, " Cin=", c.cin, " Cout=", c.cout, " H=", c.h, " W=", c.w, " k=", c.kh, "x", c.kw,
             " s=", c.sh, "x", c.sw, " p=", c.ph, "x", c.pw, " op=", c.oph, "x", c.opw, " bias=", c.bias);
}

// Result of the oracle: forward output and dL/d(x, w, b) for L = sum(y * dy).
struct Reference {
  std::vector<double> y, dx, dw, db;
};

// Direct conv2d by definition: y[n,co,oy,ox] = b[co] + sum x[n,ci,oy*s-p+ki,ox*s-p+kj] * w[co,ci,ki,kj];
// the gradients follow each product term of that sum.
Reference conv2d_reference(const Config& c, int64_t oh, int64_t ow, const std::vector<double>& x,
                           const std::vector<double>& w, const std::vector<double>& b, const std::vector<double>& dy) {
  Reference r{std::vector<double>(c.n * c.cout * oh * ow, 0.0), std::vector<double>(x.size(), 0.0),
              std::vector<double>(w.size(), 0.0), std::vector<double>(c.cout, 0.0)};
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t co = 0; co < c.cout; ++co)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          const int64_t yi = ((n * c.cout + co) * oh + oy) * ow + ox;
          double s = c.bias ? b[co] : 0.0;
          for (int64_t ci = 0; ci < c.cin; ++ci)
            for (int64_t ki = 0; ki < c.kh; ++ki)
              for (int64_t kj = 0; kj < c.kw; ++kj) {
                const int64_t iy = oy * c.sh - c.ph + ki, ix = ox * c.sw - c.pw + kj;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                const int64_t xi = ((n * c.cin + ci) * c.h + iy) * c.w + ix;
                const int64_t wi = ((co * c.cin + ci) * c.kh + ki) * c.kw + kj;
                s += x[xi] * w[wi];
                r.dx[xi] += w[wi] * dy[yi];
                r.dw[wi] += x[xi] * dy[yi];
              }
          r.y[yi] = s;
          r.db[co] += dy[yi];
        }
  return r;
}

// Direct transposed convolution by definition: every input pixel scatters x * w[ci,co,ki,kj] onto output
// pixel (iy*s-p+ki, ix*s-p+kj) when it falls inside the output.
Reference conv_transpose2d_reference(const Config& c, int64_t oh, int64_t ow, const std::vector<double>& x,
                                     const std::vector<double>& w, const std::vector<double>& b,
                                     const std::vector<double>& dy) {
  Reference r{std::vector<double>(c.n * c.cout * oh * ow, 0.0), std::vector<double>(x.size(), 0.0),
              std::vector<double>(w.size(), 0.0), std::vector<double>(c.cout, 0.0)};
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t co = 0; co < c.cout; ++co)
      for (int64_t i = 0; i < oh * ow; ++i) {
        const int64_t yi = (n * c.cout + co) * oh * ow + i;
        if (c.bias) r.y[yi] = b[co];
        r.db[co] += dy[yi];
      }
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t ci = 0; ci < c.cin; ++ci)
      for (int64_t iy = 0; iy < c.h; ++iy)
        for (int64_t ix = 0; ix < c.w; ++ix)
          for (int64_t co = 0; co < c.cout; ++co)
            for (int64_t ki = 0; ki < c.kh; ++ki)
              for (int64_t kj = 0; kj < c.kw; ++kj) {
                const int64_t oy = iy * c.sh - c.ph + ki, ox = ix * c.sw - c.pw + kj;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                const int64_t xi = ((n * c.cin + ci) * c.h + iy) * c.w + ix;
                const int64_t wi = ((ci * c.cout + co) * c.kh + ki) * c.kw + kj;
                const int64_t yi = ((n * c.cout + co) * oh + oy) * ow + ox;
                r.y[yi] += x[xi] * w[wi];
                r.dx[xi] += w[wi] * dy[yi];
                r.dw[wi] += x[xi] * dy[yi];
              }
  return r;
}

// Values rounded to f32 first, so the oracle sees exactly what the f32 op sees.
std::vector<double> random_values(std::mt19937_64& rng, int64_t count) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(static_cast<size_t>(count));
  for (double& e : v) e = static_cast<double>(static_cast<float>(u(rng)));
  return v;
}

// max |a - b| <= tol * max(max |b|, 1e-3): tight relative to the magnitude of the reference.
void check_close(const char* what, const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  double scale = 1e-3, err = 0;
  size_t worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::fabs(want[i]));
    if (std::fabs(got[i] - want[i]) > err) err = std::fabs(got[i] - want[i]), worst = i;
  }
  CHECK_MESSAGE(err <= tol * scale, what << ": max error " << err << " at " << worst << " (got " << got[worst]
                                         << ", want " << want[worst] << "), scale " << scale);
}

// Runs the op in f32 with all three inputs requiring grad and compares forward and gradients with the oracle.
template <class Op, class Ref>
void compare_with_reference(const Config& c, const Shape& wshape, std::mt19937_64& rng, Op op, Ref ref) {
  CAPTURE(describe(c));
  const std::vector<double> xv = random_values(rng, c.n * c.cin * c.h * c.w);
  const std::vector<double> wv = random_values(rng, shape_numel(wshape));
  const std::vector<double> bv = random_values(rng, c.cout);
  Tensor x = Tensor::from_doubles(xv, {c.n, c.cin, c.h, c.w}, DType::f32).set_requires_grad(true);
  Tensor w = Tensor::from_doubles(wv, wshape, DType::f32).set_requires_grad(true);
  Tensor b = c.bias ? Tensor::from_doubles(bv, {c.cout}, DType::f32).set_requires_grad(true) : Tensor();
  Tensor y = op(x, w, b);
  REQUIRE(y.dim() == 4);
  const std::vector<double> dyv = random_values(rng, y.numel());
  y.backward(Tensor::from_doubles(dyv, y.shape(), DType::f32));
  const Reference r = ref(c, y.size(2), y.size(3), xv, wv, bv, dyv);
  CHECK(y.shape() == Shape{c.n, c.cout, y.size(2), y.size(3)});
  check_close("forward", y.to_doubles(), r.y, 1e-4);
  check_close("grad x", x.grad().to_doubles(), r.dx, 1e-4);
  check_close("grad weight", w.grad().to_doubles(), r.dw, 1e-4);
  if (c.bias) check_close("grad bias", b.grad().to_doubles(), r.db, 1e-4);
}

int64_t pick(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// A random problem; the input is made big enough for at least one window position (conv2d) or one output
// pixel (transposed) and small enough for the oracle.
Config random_config(std::mt19937_64& rng, bool transposed) {
  for (;;) {
    Config c{pick(rng, 1, 3), pick(rng, 1, 4), pick(rng, 1, 4), 0, 0, pick(rng, 1, 5), pick(rng, 1, 5),
             pick(rng, 1, 3), pick(rng, 1, 3), pick(rng, 0, 2), pick(rng, 0, 2), 0, 0, pick(rng, 0, 1) == 1};
    if (transposed) {
      c.h = pick(rng, 1, 7);
      c.w = pick(rng, 1, 7);
      c.oph = pick(rng, 0, c.sh - 1);
      c.opw = pick(rng, 0, c.sw - 1);
      if ((c.h - 1) * c.sh - 2 * c.ph + c.kh + c.oph >= 1 && (c.w - 1) * c.sw - 2 * c.pw + c.kw + c.opw >= 1) return c;
    } else {
      c.h = pick(rng, std::max<int64_t>(1, c.kh - 2 * c.ph), c.kh + 8);
      c.w = pick(rng, std::max<int64_t>(1, c.kw - 2 * c.pw), c.kw + 8);
      return c;
    }
  }
}

Tensor run_conv2d(const Config& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  return conv2d(x, w, b, Conv2dOptions{c.sh, c.sw, c.ph, c.pw});
}
Tensor run_conv_transpose2d(const Config& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  return conv_transpose2d(x, w, b, ConvTranspose2dOptions{c.sh, c.sw, c.ph, c.pw, c.oph, c.opw});
}

// Expects `f` to throw exactly E with a message that names `op`.
template <class E, class F>
void check_error(F f, const std::string& op) {
  bool thrown = false;
  try {
    f();
  } catch (const E& e) {
    thrown = true;
    CHECK_MESSAGE(std::string(e.what()).find(op + ":") != std::string::npos, e.what());
  }
  CHECK_MESSAGE(thrown, "expected an exception naming " << op);
}

// Whether all three Winograd drivers take a stride-1 problem with a weight matrix of `rows` rows over images of
// `channels` x h x w (the geometry of conv2d; for the transposed op, its output is the image).
bool winograd_takes_all_three(const Config& c, int64_t rows, int64_t channels, int64_t h, int64_t w) {
  const int64_t oh = h + 2 * c.ph - c.kh + 1, ow = w + 2 * c.pw - c.kw + 1;
  const kern::cpu::ConvGeometry g{channels, h, w, c.kh, c.kw, 1, 1, c.ph, c.pw, oh, ow};
  using kern::cpu::WinogradPass;
  return kern::cpu::winograd_fits(rows, g, c.n, WinogradPass::forward) &&
         kern::cpu::winograd_fits(rows, g, c.n, WinogradPass::scatter) &&
         kern::cpu::winograd_fits(rows, g, c.n, WinogradPass::weight_gradient);
}

}  // namespace

TEST_CASE("conv2d: forward and all gradients match the direct oracle on 150 random configurations (f32)") {
  std::mt19937_64 rng(2026);
  std::vector<Config> configs = {
      {2, 3, 4, 5, 6, 1, 1, 1, 1, 0, 0, 0, 0, true},   // 1x1 stride 1: the no-im2col path
      {1, 4, 2, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, false},  // U-Net down
      {2, 2, 3, 7, 5, 2, 5, 3, 1, 2, 0, 0, 0, true},   // non-square kernel and stride
  };
  while (configs.size() < 150) configs.push_back(random_config(rng, false));
  for (const Config& c : configs)
    compare_with_reference(
        c, {c.cout, c.cin, c.kh, c.kw}, rng,
        [&](const Tensor& x, const Tensor& w, const Tensor& b) { return run_conv2d(c, x, w, b); },
        conv2d_reference);
}

TEST_CASE("conv_transpose2d: forward and all gradients match the direct oracle on 150 random configurations (f32)") {
  std::mt19937_64 rng(1127);
  std::vector<Config> configs = {
      {2, 3, 4, 5, 6, 1, 1, 1, 1, 0, 0, 0, 0, true},   // 1x1 stride 1: the no-im2col path
      {1, 4, 2, 4, 4, 4, 4, 2, 2, 1, 1, 0, 0, true},   // U-Net up
      {2, 3, 2, 3, 4, 3, 3, 2, 2, 1, 1, 1, 1, false},  // ResNet generator up, output_padding 1
      {1, 2, 3, 3, 2, 5, 2, 3, 1, 2, 0, 2, 0, true},   // non-square, output_padding 2 of stride 3
  };
  while (configs.size() < 150) configs.push_back(random_config(rng, true));
  for (const Config& c : configs)
    compare_with_reference(
        c, {c.cin, c.cout, c.kh, c.kw}, rng,
        [&](const Tensor& x, const Tensor& w, const Tensor& b) { return run_conv_transpose2d(c, x, w, b); },
        conv_transpose2d_reference);
}

TEST_CASE("conv2d with one output channel and conv_transpose2d with one input channel, stride 1 (direct paths): "
          "forward and all gradients match the direct oracle") {
  // kernels/cpu/conv_single.h: the PatchGAN's last layer (512 -> 1, 4x4, padding 1) and random kernels/paddings,
  // including padding wider than the kernel and batches that split into uneven row blocks.
  std::mt19937_64 rng(4096);
  std::vector<Config> configs = {
      {4, 64, 1, 8, 8, 4, 4, 1, 1, 1, 1, 0, 0, true},  // PatchGAN tail at 64x64 (7x7 -> 6x6), fewer channels
      {1, 3, 1, 5, 9, 1, 1, 1, 1, 0, 0, 0, 0, false},  // 1x1
      {3, 2, 1, 4, 6, 2, 3, 1, 1, 3, 2, 0, 0, true},   // padding wider than the kernel
  };
  while (configs.size() < 60) {
    Config c{pick(rng, 1, 5), pick(rng, 1, 40), 1, 0, 0, pick(rng, 1, 5), pick(rng, 1, 5), 1, 1, pick(rng, 0, 3),
             pick(rng, 0, 3), 0, 0, pick(rng, 0, 1) == 1};
    c.h = pick(rng, std::max<int64_t>(1, c.kh - 2 * c.ph), c.kh + 14);
    c.w = pick(rng, std::max<int64_t>(1, c.kw - 2 * c.pw), c.kw + 14);
    configs.push_back(c);
  }
  for (const Config& c : configs)
    compare_with_reference(
        c, {c.cout, c.cin, c.kh, c.kw}, rng,
        [&](const Tensor& x, const Tensor& w, const Tensor& b) { return run_conv2d(c, x, w, b); },
        conv2d_reference);
  // The transposed op's weight matrix has Cin rows: one input channel takes the same paths.
  for (int i = 0; i < 30; ++i) {
    Config c{pick(rng, 1, 4), 1, pick(rng, 1, 20), pick(rng, 1, 9), pick(rng, 1, 9), pick(rng, 1, 5), pick(rng, 1, 5),
             1, 1, 0, 0, 0, 0, pick(rng, 0, 1) == 1};
    c.ph = pick(rng, 0, std::min<int64_t>(2, (c.h - 1 + c.kh - 1) / 2));
    c.pw = pick(rng, 0, std::min<int64_t>(2, (c.w - 1 + c.kw - 1) / 2));
    compare_with_reference(
        c, {c.cin, c.cout, c.kh, c.kw}, rng,
        [&](const Tensor& x, const Tensor& w, const Tensor& b) { return run_conv_transpose2d(c, x, w, b); },
        conv_transpose2d_reference);
  }
}

TEST_CASE("Winograd F(m, r) transforms: AT [(G g) .* (BT d)] is the m-output correlation of g over d, every m, r "
          "with m + r - 1 <= 6") {
  std::mt19937_64 rng(31);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int r = 2; r <= 5; ++r)
    for (int m = 2; m + r - 1 <= kern::cpu::kWinogradMaxTile; ++m) {
      CAPTURE(m);
      CAPTURE(r);
      const kern::cpu::WinogradPlan p = kern::cpu::winograd_plan(m, r);
      REQUIRE(p.n == m + r - 1);
      for (int trial = 0; trial < 5; ++trial) {
        std::vector<double> g(static_cast<size_t>(r)), d(static_cast<size_t>(p.n));
        for (double& v : g) v = u(rng);
        for (double& v : d) v = u(rng);
        std::vector<double> gg(static_cast<size_t>(p.n), 0.0), bd(static_cast<size_t>(p.n), 0.0);
        for (int i = 0; i < p.n; ++i) {
          for (int k = 0; k < r; ++k) gg[i] += p.g[i * r + k] * g[k];
          for (int k = 0; k < p.n; ++k) bd[i] += p.bt[i * p.n + k] * d[k];
        }
        for (int i = 0; i < m; ++i) {
          double y = 0, want = 0;
          for (int k = 0; k < p.n; ++k) y += p.at[i * p.n + k] * gg[k] * bd[k];
          for (int k = 0; k < r; ++k) want += g[k] * d[i + k];
          CHECK(std::fabs(y - want) < 1e-5);
        }
      }
    }
}

TEST_CASE("conv2d / conv_transpose2d, stride 1 with 3x3 and 4x4 kernels between wide layers (Winograd paths): "
          "forward and all gradients match the direct oracle, and differ in bits from the lowered path") {
  // kernels/cpu/conv_winograd.h: the PatchGAN's 256->512 layer shape at fewer channels, 3x3 ResNet blocks,
  // outputs that the tiles do not divide, every padding below the kernel size; each problem big enough that all
  // three drivers take it.
  REQUIRE(numerics().cpu_winograd);
  std::mt19937_64 rng(9);
  std::vector<Config> configs = {
      {2, 48, 40, 18, 18, 4, 4, 1, 1, 1, 1, 0, 0, true},   // the PatchGAN 256->512 shape at 128x128 (15x15 out)
      {1, 32, 33, 33, 31, 4, 4, 1, 1, 1, 1, 0, 0, false},  // a single image
      {3, 40, 32, 17, 22, 3, 3, 1, 1, 1, 1, 0, 0, true},   // ResNet block 3x3 p1
      {2, 32, 32, 21, 21, 3, 3, 1, 1, 0, 0, 0, 0, false},  // 3x3 p0
      {2, 33, 35, 16, 15, 4, 4, 1, 1, 3, 3, 0, 0, true},   // padding r-1
  };
  for (int i = 0; i < 5; ++i) {
    const int64_t k = pick(rng, 3, 4), p = pick(rng, 0, k - 1);
    Config c{pick(rng, 2, 3), pick(rng, 32, 40), pick(rng, 32, 40), pick(rng, 18, 24), pick(rng, 18, 24), k, k,
             1, 1, p, p, 0, 0, pick(rng, 0, 1) == 1};
    configs.push_back(c);
  }
  for (const Config& c : configs) {
    CAPTURE(describe(c));
    REQUIRE(winograd_takes_all_three(c, c.cout, c.cin, c.h, c.w));
    compare_with_reference(
        c, {c.cout, c.cin, c.kh, c.kw}, rng,
        [&](const Tensor& x, const Tensor& w, const Tensor& b) { return run_conv2d(c, x, w, b); }, conv2d_reference);
  }
  // The transposed op at stride 1 runs the same correlations with the forward and the input gradient swapped:
  // its weight matrix has Cin rows and its image is the output.
  const std::vector<Config> transposed = {{2, 40, 36, 16, 17, 4, 4, 1, 1, 1, 1, 0, 0, true},
                                          {2, 32, 32, 18, 18, 3, 3, 1, 1, 2, 2, 0, 0, false}};
  for (const Config& c : transposed) {
    CAPTURE(describe(c));
    const int64_t oh = c.h - 2 * c.ph + c.kh - 1, ow = c.w - 2 * c.pw + c.kw - 1;
    REQUIRE(winograd_takes_all_three(c, c.cin, c.cout, oh, ow));
    compare_with_reference(
        c, {c.cin, c.cout, c.kh, c.kw}, rng,
        [&](const Tensor& x, const Tensor& w, const Tensor& b) { return run_conv_transpose2d(c, x, w, b); },
        conv_transpose2d_reference);
  }

  // Proof that the oracle checks above went through the Winograd drivers: switching them off changes the bits.
  Generator gen(11);
  Tensor x = Tensor::randn({2, 48, 20, 20}, gen).set_requires_grad(true);
  Tensor w = Tensor::randn({40, 48, 4, 4}, gen).set_requires_grad(true);
  auto run = [&] {
    x.zero_grad(), w.zero_grad();
    Tensor y = conv2d(x, w, Tensor(), Conv2dOptions::make(1, 1));
    y.backward(Tensor::ones_like(y));
    return std::vector<std::vector<double>>{y.to_doubles(), x.grad().to_doubles(), w.grad().to_doubles()};
  };
  const auto winograd = run();
  Numerics lowered_only = numerics();
  lowered_only.cpu_winograd = false;
  const auto lowered = [&] {
    const NumericsScope scope(lowered_only);
    return run();
  }();
  for (size_t i = 0; i < winograd.size(); ++i) {
    CHECK(winograd[i] != lowered[i]);
    check_close("Winograd vs lowered", winograd[i], lowered[i], 1e-5);
  }
}

TEST_CASE("conv kernels: the winograd argument alone selects the Winograd drivers or the lowered GEMM, whatever the "
          "engine's numerics say") {
  // A problem all three Winograd drivers take: with winograd = true each lowered driver gives the Winograd
  // driver's exact bits, with false other bits within rounding; the engine's setting is the opposite of the
  // argument each time, so a kernel that read it instead would fail.
  const int64_t batch = 2, rows = 40;
  const kern::cpu::ConvGeometry g{48, 18, 18, 4, 4, 1, 1, 1, 1, 17, 17};
  using kern::cpu::WinogradPass;
  REQUIRE(kern::cpu::winograd_fits(rows, g, batch, WinogradPass::forward));
  REQUIRE(kern::cpu::winograd_fits(rows, g, batch, WinogradPass::scatter));
  REQUIRE(kern::cpu::winograd_fits(rows, g, batch, WinogradPass::weight_gradient));
  std::mt19937_64 rng(77);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto random = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = u(rng);
    return v;
  };
  const std::vector<float> image = random(batch * g.image_size()), wm = random(rows * g.col_rows()),
                           in = random(batch * rows * g.col_cols());
  const size_t out_n = static_cast<size_t>(batch * rows * g.col_cols()), image_n = image.size(), dw_n = wm.size();
  std::vector<float> want_out(out_n), want_image(image_n), want_dw(dw_n);
  kern::cpu::winograd_multiply(image.data(), wm.data(), rows, g, batch, want_out.data());
  kern::cpu::winograd_scatter(in.data(), wm.data(), rows, g, batch, want_image.data());
  kern::cpu::winograd_weight_gradient(image.data(), in.data(), rows, g, batch, want_dw.data());
  for (const bool winograd : {true, false}) {
    CAPTURE(winograd);
    Numerics opposite = numerics();
    opposite.cpu_winograd = !winograd;
    const NumericsScope scope(opposite);
    std::vector<float> out(out_n), img(image_n), dw(dw_n);
    kern::cpu::lower_multiply<float>(image.data(), wm.data(), rows, g, batch, out.data(), winograd);
    kern::cpu::multiply_scatter<float>(in.data(), wm.data(), rows, g, batch, img.data(), winograd);
    kern::cpu::weight_gradient<float>(image.data(), in.data(), rows, g, batch, dw.data(), winograd);
    CHECK((out == want_out) == winograd);
    CHECK((img == want_image) == winograd);
    CHECK((dw == want_dw) == winograd);
    const auto doubles = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
    check_close("lowered vs Winograd forward", doubles(out), doubles(want_out), 1e-5);
    check_close("lowered vs Winograd scatter", doubles(img), doubles(want_image), 1e-5);
    check_close("lowered vs Winograd weight gradient", doubles(dw), doubles(want_dw), 1e-5);
  }
}

TEST_CASE("conv2d, Winograd paths: forward and gradients are bitwise the same with 1 or 2 OpenMP threads") {
  const int blas_threads = kern::cpu::blas_threads();
  kern::cpu::blas_set_threads(1);
  Generator gen(12);
  Tensor x = Tensor::randn({3, 40, 21, 19}, gen).set_requires_grad(true);
  Tensor w = Tensor::randn({36, 40, 4, 4}, gen).set_requires_grad(true);
  Tensor w3 = Tensor::randn({33, 36, 3, 3}, gen).set_requires_grad(true);
  REQUIRE(winograd_takes_all_three({3, 40, 36, 21, 19, 4, 4, 1, 1, 1, 1, 0, 0, false}, 36, 40, 21, 19));
  REQUIRE(winograd_takes_all_three({3, 36, 33, 20, 18, 3, 3, 1, 1, 1, 1, 0, 0, false}, 33, 36, 20, 18));
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    x.zero_grad(), w.zero_grad(), w3.zero_grad();
    Tensor y = conv2d(conv2d(x, w, Tensor(), Conv2dOptions::make(1, 1)), w3, Tensor(), Conv2dOptions::make(1, 1));
    y.backward(Tensor::ones_like(y));
    omp_set_num_threads(saved);
    return std::vector<std::vector<double>>{y.to_doubles(), x.grad().to_doubles(), w.grad().to_doubles(),
                                            w3.grad().to_doubles()};
  };
  CHECK(run(1) == run(2));
  kern::cpu::blas_set_threads(blas_threads);
}

TEST_CASE("conv2d / conv_transpose2d: output sizes follow the PyTorch formulas") {
  Tensor x = Tensor::zeros({1, 3, 256, 256});
  CHECK(conv2d(x, Tensor::zeros({64, 3, 4, 4}), Tensor(), Conv2dOptions::make(2, 1)).shape() == Shape{1, 64, 128, 128});
  CHECK(conv2d(x, Tensor::zeros({8, 3, 7, 7}), Tensor(), Conv2dOptions::make(1, 0)).shape() == Shape{1, 8, 250, 250});
  Tensor z = Tensor::zeros({2, 16, 32, 32});
  CHECK(conv_transpose2d(z, Tensor::zeros({16, 8, 4, 4}), Tensor(), ConvTranspose2dOptions::make(2, 1)).shape() ==
        Shape{2, 8, 64, 64});
  CHECK(conv_transpose2d(z, Tensor::zeros({16, 8, 3, 3}), Tensor(), ConvTranspose2dOptions::make(2, 1, 1)).shape() ==
        Shape{2, 8, 64, 64});
  CHECK(conv_transpose2d(z, Tensor::zeros({16, 8, 3, 3}), Tensor(), ConvTranspose2dOptions::make(2, 1, 0)).shape() ==
        Shape{2, 8, 63, 63});
}

TEST_CASE("conv2d / conv_transpose2d: float64 gradcheck on the pix2pix layer shapes and random ones") {
  struct Case {
    const char* what;
    bool transposed;
    Config c;
  };
  const std::vector<Case> cases = {
      {"U-Net down 4x4 s2 p1", false, {2, 2, 3, 6, 6, 4, 4, 2, 2, 1, 1, 0, 0, true}},
      {"U-Net up 4x4 s2 p1", true, {2, 3, 2, 3, 3, 4, 4, 2, 2, 1, 1, 0, 0, true}},
      {"ResNet up 3x3 s2 p1 op1", true, {2, 2, 3, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, true}},
      {"ResNet down 3x3 s2 p1", false, {1, 2, 3, 6, 5, 3, 3, 2, 2, 1, 1, 0, 0, true}},
      {"ResNet stem 7x7 s1 p0", false, {1, 2, 2, 9, 8, 7, 7, 1, 1, 0, 0, 0, 0, true}},
      {"ResNet block 3x3 s1 p0", false, {2, 3, 2, 5, 5, 3, 3, 1, 1, 0, 0, 0, 0, false}},
      {"PatchGAN tail 4x4 s1 p1", false, {1, 3, 1, 5, 5, 4, 4, 1, 1, 1, 1, 0, 0, true}},
  };
  auto check = [](const std::string& what, bool transposed, const Config& c, uint64_t seed) {
    const Shape wshape = transposed ? Shape{c.cin, c.cout, c.kh, c.kw} : Shape{c.cout, c.cin, c.kh, c.kw};
    std::vector<Tensor> inputs = {test::rand_input({c.n, c.cin, c.h, c.w}, seed), test::rand_input(wshape, seed + 1)};
    if (c.bias) inputs.push_back(test::rand_input({c.cout}, seed + 2));
    test::gradcheck(what + " " + describe(c), [&](const std::vector<Tensor>& in) {
      const Tensor b = in.size() > 2 ? in[2] : Tensor();
      return transposed ? run_conv_transpose2d(c, in[0], in[1], b) : run_conv2d(c, in[0], in[1], b);
    }, inputs);
  };
  uint64_t seed = 10;
  for (const Case& k : cases) check(k.what, k.transposed, k.c, seed += 3);
  std::mt19937_64 rng(77);
  for (int i = 0; i < 6; ++i) {
    const bool transposed = i % 2 == 1;
    check(transposed ? "random conv_transpose2d" : "random conv2d", transposed, random_config(rng, transposed), seed += 3);
  }
}

TEST_CASE("conv2d / conv_transpose2d: only the inputs that require grad get one, and they are right") {
  std::mt19937_64 rng(5);
  const Config c{2, 3, 4, 6, 7, 3, 2, 2, 1, 1, 0, 0, 0, false};
  const std::vector<double> xv = random_values(rng, 2 * 3 * 6 * 7), wv = random_values(rng, 4 * 3 * 3 * 2);
  for (int which = 0; which < 2; ++which) {
    Tensor x = Tensor::from_doubles(xv, {2, 3, 6, 7}, DType::f32).set_requires_grad(which == 0);
    Tensor w = Tensor::from_doubles(wv, {4, 3, 3, 2}, DType::f32).set_requires_grad(which == 1);
    Tensor y = run_conv2d(c, x, w, Tensor());
    const std::vector<double> dyv = random_values(rng, y.numel());
    y.backward(Tensor::from_doubles(dyv, y.shape(), DType::f32));
    const Reference r = conv2d_reference(c, y.size(2), y.size(3), xv, wv, {}, dyv);
    CHECK(x.grad().defined() == (which == 0));
    CHECK(w.grad().defined() == (which == 1));
    if (which == 0) check_close("grad x only", x.grad().to_doubles(), r.dx, 1e-4);
    if (which == 1) check_close("grad weight only", w.grad().to_doubles(), r.dw, 1e-4);
  }
}

TEST_CASE("conv2d / conv_transpose2d: forward and gradients are bitwise the same with 1 or 2 OpenMP threads") {
  // With single-threaded BLAS the im2col / col2im / bias loops take the whole OpenMP team.
  const int blas_threads = kern::cpu::blas_threads();
  kern::cpu::blas_set_threads(1);
  REQUIRE(kern::cpu::copy_threads() == omp_get_max_threads());
  Generator gen(3);
  Tensor x = Tensor::randn({2, 8, 40, 40}, gen).set_requires_grad(true);
  Tensor w = Tensor::randn({8, 8, 4, 4}, gen).set_requires_grad(true);
  Tensor b = Tensor::randn({8}, gen).set_requires_grad(true);
  Tensor w1 = Tensor::randn({1, 8, 4, 4}, gen).set_requires_grad(true);
  Tensor b1 = Tensor::randn({1}, gen).set_requires_grad(true);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    x.zero_grad(), w.zero_grad(), b.zero_grad(), w1.zero_grad(), b1.zero_grad();
    Tensor y = conv2d(x, w, b, Conv2dOptions::make(2, 1));
    Tensor t = conv_transpose2d(y, w, b, ConvTranspose2dOptions::make(2, 1));
    t = conv2d(t, w1, b1, Conv2dOptions::make(1, 1));  // one output channel, stride 1: the direct paths
    t.backward(Tensor::ones_like(t));
    omp_set_num_threads(saved);
    return std::vector<std::vector<double>>{t.to_doubles(), x.grad().to_doubles(), w.grad().to_doubles(),
                                            b.grad().to_doubles(), w1.grad().to_doubles()};
  };
  CHECK(run(1) == run(2));
  kern::cpu::blas_set_threads(blas_threads);
}

TEST_CASE("conv2d / conv_transpose2d: bad arguments throw typed errors that name the op") {
  Tensor x = Tensor::zeros({1, 3, 8, 8});
  Tensor w = Tensor::zeros({4, 3, 3, 3});
  check_error<ShapeError>([&] { conv2d(x, Tensor::zeros({4, 2, 3, 3}), Tensor(), {}); }, "conv2d");
  check_error<ShapeError>([&] { conv2d(Tensor::zeros({3, 8, 8}), w, Tensor(), {}); }, "conv2d");
  check_error<ShapeError>([&] { conv2d(x, w, Tensor::zeros({5}), {}); }, "conv2d");
  check_error<ShapeError>([&] { conv2d(x, w, Tensor::zeros({4, 1}), {}); }, "conv2d");
  check_error<ShapeError>([&] { conv2d(Tensor::zeros({1, 3, 2, 8}), w, Tensor(), {}); }, "conv2d");  // kernel > input
  check_error<ValueError>([&] { conv2d(x, w, Tensor(), Conv2dOptions{0, 1, 0, 0}); }, "conv2d");
  check_error<ValueError>([&] { conv2d(x, w, Tensor(), Conv2dOptions{1, 1, -1, 0}); }, "conv2d");
  check_error<DTypeError>([&] { conv2d(x, Tensor::zeros({4, 3, 3, 3}, DType::f64), Tensor(), {}); }, "conv2d");

  Tensor wt = Tensor::zeros({3, 4, 3, 3});
  check_error<ShapeError>([&] { conv_transpose2d(x, Tensor::zeros({2, 4, 3, 3}), Tensor(), {}); }, "conv_transpose2d");
  check_error<ShapeError>([&] { conv_transpose2d(Tensor::zeros({3, 8, 8}), wt, Tensor(), {}); }, "conv_transpose2d");
  check_error<ShapeError>([&] { conv_transpose2d(x, wt, Tensor::zeros({3}), {}); }, "conv_transpose2d");
  check_error<ValueError>([&] { conv_transpose2d(x, wt, Tensor(), ConvTranspose2dOptions::make(2, 1, 2)); },
                          "conv_transpose2d");
  check_error<ValueError>([&] { conv_transpose2d(x, wt, Tensor(), ConvTranspose2dOptions::make(1, 0, 1)); },
                          "conv_transpose2d");
  check_error<ShapeError>([&] { conv_transpose2d(Tensor::zeros({1, 3, 1, 1}), wt, Tensor(), ConvTranspose2dOptions::make(1, 2)); },
                          "conv_transpose2d");  // empty output: 1 - 4 + 3 = 0
}
