// GPU kernel benchmark: the card's device-to-device copy bandwidth and GEMM rate (kern::cuda::gemm, bf16 and
// f32 with TF32 at 8192^3), then each hand-written kernel at the pix2pix 256x256 batch-16 shapes: validated
// against the CPU first, then timed with CUDA events (median), reported as GB/s and % of the copy bandwidth.
//
//   bench_cuda_kernels_bench [--json out.jsonl] [--reps 20] [--quick] [--conv-layouts]
// --conv-layouts: instead, cuDNN's bf16 convolutions of the step's layers in NCHW against NHWC (channels last),
// each direction validated against the other layout, then timed: the measurement that decides the layout.
// Bytes are the compulsory traffic, read plus written, the same convention as the copy figure: a kernel at
// 100% moves its operands exactly once at copy speed. --quick: smaller GEMM and fewer repetitions (a smoke run).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>
#include "bench/cuda_timer.h"
#include "engine/backend.h"
#include "engine/engine.h"
#include "engine/optim/adam.h"
#include "engine/cuda/numerics.h"
#include "kernels/cuda/conv.cuh"
#include "kernels/cuda/gemm.cuh"
#include "models/factory.h"
#include "tests/engine/op_test_util.h"

using namespace asyndgan;
using bench::median_ms;

namespace {

const Device kGpu = Device::cuda(0);
int g_reps = 20;
std::FILE* g_json = nullptr;
double g_copy_gbps = 0;
int g_invalid = 0;

double tolerance(DType dt) { return dt == DType::bf16 ? 1e-2 : 1e-4; }

void json_line(const std::string& body) {
  if (!g_json) return;
  std::fprintf(g_json, "{%s}\n", body.c_str());
  std::fflush(g_json);
}

// One kernel row: checks `err` against the dtype's tolerance, then times `run` and reports bytes / time.
void row(const std::string& kernel, DType dt, const Shape& shape, double bytes, double err, const std::function<void()>& run) {
  const bool valid = err <= tolerance(dt);
  double ms = -1, gbps = -1, pct = -1;
  if (valid) {
    ms = median_ms(3, g_reps, run);
    gbps = bytes / (ms * 1e-3) / 1e9;
    pct = g_copy_gbps > 0 ? 100 * gbps / g_copy_gbps : -1;
  } else {
    ++g_invalid;
  }
  std::printf("%-34s %5s %-20s %9.4f %9.1f %7.1f%% %10.2e %s\n", kernel.c_str(), dtype_name(dt), shape_str(shape).c_str(), ms,
              gbps, pct, err, valid ? "ok" : "INVALID (not timed)");
  std::fflush(stdout);
  json_line(msg("\"bench\":\"kernel\",\"kernel\":\"", kernel, "\",\"dtype\":\"", dtype_name(dt), "\",\"shape\":\"",
                shape_str(shape), "\",\"bytes\":", bytes, ",\"ms\":", ms, ",\"gbps\":", gbps, ",\"pct_copy\":", pct,
                ",\"max_rel_err\":", err, ",\"valid\":", valid ? "true" : "false"));
}

// The backend table's entry, or an error naming it when that kernel family has not registered it.
template <class Fn> Fn need(Fn f, const char* name) {
  if (!f) throw DeviceError(msg("bench_cuda_kernels_bench: CUDA kernel '", name, "' is not registered"));
  return f;
}

Tensor rounded(const Tensor& t, DType dt) { return dt == DType::f32 ? t : t.to(dt).to(DType::f32); }
double es(DType dt) { return static_cast<double>(dtype_size(dt)); }

void copy_bandwidth() {
  const int64_t n = int64_t{1} << 30;  // 1 GiB each way: far beyond any L2
  Tensor a = Tensor::zeros({n}, DType::u8, kGpu), b = Tensor::zeros({n}, DType::u8, kGpu);
  const auto stream = static_cast<cudaStream_t>(cuda_rt::current_stream(0));
  const double ms = median_ms(3, g_reps, [&] {
    bench::cuda_ok(cudaMemcpyAsync(b.raw_data(), a.raw_data(), static_cast<size_t>(n), cudaMemcpyDeviceToDevice, stream),
                   "cudaMemcpyAsync");
  });
  g_copy_gbps = 2.0 * static_cast<double>(n) / (ms * 1e-3) / 1e9;
  std::printf("device-to-device copy (cudaMemcpyAsync, 1 GiB, read + write): %.1f GB/s (%.3f ms)\n", g_copy_gbps, ms);
  json_line(msg("\"bench\":\"copy\",\"bytes\":", 2.0 * static_cast<double>(n), ",\"ms\":", ms, ",\"gbps\":", g_copy_gbps));
}

// C = A B against a host double-precision product on a small odd-sized problem, then the rate at n^3.
void gemm_rate(DType dt, bool tf32, int64_t n) {
  const std::string label = std::string(dtype_name(dt)) + (dt == DType::f32 ? (tf32 ? " (TF32)" : " (no TF32)") : "");
  {
    const int64_t m = 129, k = 257, p = 95;
    Generator gen(5);
    const Tensor a = rounded(Tensor::randn({m, k}, gen), dt), b = rounded(Tensor::randn({k, p}, gen), dt);
    const Tensor ag = a.to(kGpu).to(dt), bg = b.to(kGpu).to(dt);
    Tensor cg = Tensor::zeros({m, p}, dt, kGpu);
    kern::cuda::gemm(dt, false, false, m, p, k, 1.0, ag.raw_data(), k, bg.raw_data(), p, 0.0, cg.raw_data(), p, tf32, 0);
    const std::vector<double> av = a.to_doubles(), bv = b.to_doubles();
    std::vector<double> ref(static_cast<size_t>(m * p), 0.0);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t q = 0; q < k; ++q)
        for (int64_t j = 0; j < p; ++j) ref[static_cast<size_t>(i * p + j)] += av[static_cast<size_t>(i * k + q)] * bv[static_cast<size_t>(q * p + j)];
    const double err = test::relative_error(cg, Tensor::from_vector(ref, {m, p}));
    const double tol = dt == DType::f32 && tf32 ? 1e-2 : tolerance(dt);
    if (err > tol) {
      ++g_invalid;
      std::printf("GEMM %s: INVALID, relative error %.2e against the host product\n", label.c_str(), err);
      json_line(msg("\"bench\":\"gemm\",\"dtype\":\"", dtype_name(dt), "\",\"tf32\":", tf32 ? "true" : "false",
                    ",\"valid\":false,\"max_rel_err\":", err));
      return;
    }
  }
  Generator gen(6);
  const Tensor a = Tensor::randn({n, n}, gen).to(kGpu).to(dt), b = Tensor::randn({n, n}, gen).to(kGpu).to(dt);
  Tensor c = Tensor::empty({n, n}, dt, kGpu);
  const double ms = median_ms(2, std::max(3, g_reps / 2), [&] {
    kern::cuda::gemm(dt, false, false, n, n, n, 1.0, a.raw_data(), n, b.raw_data(), n, 0.0, c.raw_data(), n, tf32, 0);
  });
  const double tflops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / (ms * 1e-3) / 1e12;
  std::printf("GEMM %-14s %lld^3 (random data): %.1f TFLOP/s (%.3f ms)\n", label.c_str(), static_cast<long long>(n), tflops, ms);
  json_line(msg("\"bench\":\"gemm\",\"dtype\":\"", dt == DType::f32 && tf32 ? "tf32" : dtype_name(dt), "\",\"n\":", n,
                ",\"ms\":", ms, ",\"tflops\":", tflops, ",\"valid\":true"));
}

// Instance norm + LeakyReLU(0.2) (the PatchGAN's and the U-Net encoder's pattern), fused forward and backward.
void fused_norm(const Shape& s, DType dt) {
  Generator gen(11);
  const Tensor x = rounded(Tensor::randn(s, gen), dt), up = rounded(Tensor::randn(s, gen), dt);
  backend::NormConfig cfg;
  cfg.per_channel = false;
  cfg.act = backend::Act::leaky_relu;
  cfg.slope = 0.2;
  Tensor xc = x.clone();
  xc.set_requires_grad(true);
  const Tensor yc = leaky_relu(instance_norm(xc, Tensor(), Tensor(), cfg.eps), cfg.slope);
  yc.backward(up);

  const int64_t groups = s[0] * s[1];
  const Tensor xg = x.to(kGpu).to(dt), upg = up.to(kGpu).to(dt), none;
  Tensor rm, rv, yg = Tensor::empty(s, dt, kGpu), gx = Tensor::empty(s, dt, kGpu), gw, gb;
  Tensor mean = Tensor::empty({groups}, DType::f32, kGpu), invstd = Tensor::empty({groups}, DType::f32, kGpu);
  const auto norm_fwd = need(backend::cuda("norm_forward").norm_forward, "norm_forward");
  const auto norm_bwd = need(backend::cuda("norm_backward").norm_backward, "norm_backward");
  auto fwd = [&] { norm_fwd(xg, none, none, rm, rv, cfg, yg, mean, invstd); };
  auto bwd = [&] { norm_bwd(upg, xg, none, none, mean, invstd, cfg, gx, gw, gb); };
  fwd();
  const double n = static_cast<double>(x.numel());
  row("instance_norm+leaky_relu fwd", dt, s, 2 * n * es(dt), test::relative_error(yg, yc), fwd);
  bwd();
  row("instance_norm+leaky_relu bwd", dt, s, 3 * n * es(dt), test::relative_error(gx, xc.grad()), bwd);
}

void elementwise(const Shape& s, DType dt) {
  Generator gen(12);
  const Tensor a = rounded(Tensor::randn(s, gen), dt), b = rounded(Tensor::randn(s, gen), dt);
  const Tensor ag = a.to(kGpu).to(dt), bg = b.to(kGpu).to(dt);
  Tensor out = Tensor::empty(s, dt, kGpu), mask = Tensor::empty(s, dt, kGpu);
  const double n = static_cast<double>(a.numel());
  const backend::CudaKernels& k = backend::cuda("elementwise");

  auto axpby = [&] { need(k.axpby, "axpby")(1.0, ag, -0.5, bg, out); };
  axpby();
  row("axpby (a - 0.5 b)", dt, s, 3 * n * es(dt), test::relative_error(out, a - b * 0.5), axpby);

  auto unary = [&] { need(k.unary, "unary")(backend::Act::leaky_relu, 0.2, ag, out); };
  unary();
  row("unary leaky_relu 0.2", dt, s, 2 * n * es(dt), test::relative_error(out, leaky_relu(a, 0.2)), unary);

  Generator gc(77), gg(77);
  const Tensor ref = dropout(a, 0.5, true, gc);
  const uint64_t first = gg.reserve(static_cast<uint64_t>((a.numel() + 3) / 4));
  auto drop = [&] { need(k.dropout, "dropout")(gg.key(), first, 0.5, ag, mask, out); };
  drop();
  row("dropout p 0.5 (mask + out)", dt, s, 3 * n * es(dt), test::relative_error(out, ref), drop);
}

void reflection_pad(const Shape& s, DType dt, int64_t pad) {
  Generator gen(13);
  const Tensor x = rounded(Tensor::randn(s, gen), dt), xg = x.to(kGpu).to(dt);
  Tensor out = Tensor::empty({s[0], s[1], s[2] + 2 * pad, s[3] + 2 * pad}, dt, kGpu);
  auto run = [&] { need(backend::cuda("reflection_pad2d").reflection_pad2d, "reflection_pad2d")(xg, pad, pad, pad, pad, out); };
  run();
  const double bytes = static_cast<double>(x.numel() + out.numel()) * es(dt);
  row("reflection_pad2d " + std::to_string(pad), dt, s, bytes, test::relative_error(out, reflection_pad2d(x, pad, pad, pad, pad)), run);
}

void copies(const Shape& s) {
  Generator gen(14);
  const Tensor x = Tensor::randn(s, gen), xg = x.to(kGpu);
  const double n = static_cast<double>(x.numel());
  Tensor bf = xg.to(DType::bf16);
  auto to_bf16 = [&] { bf = xg.to(DType::bf16); };
  row("convert f32 -> bf16", DType::bf16, s, n * 6, test::relative_error(bf, x.to(DType::bf16)), to_bf16);
  Tensor f = bf.to(DType::f32);
  auto to_f32 = [&] { f = bf.to(DType::f32); };
  row("convert bf16 -> f32", DType::f32, s, n * 6, test::relative_error(f, x.to(DType::bf16).to(DType::f32)), to_f32);
  const Tensor view = xg.narrow(1, 1, s[1] - 2);  // a strided view: every plane of the middle channels
  Tensor c = view.contiguous();
  auto contig = [&] { c = view.contiguous(); };
  row("contiguous of a channel narrow", DType::f32, view.shape(), 2 * static_cast<double>(view.numel()) * 4,
      test::relative_error(c, x.narrow(1, 1, s[1] - 2).contiguous()), contig);
}

// Adam over the parameters of unet_256 (5 -> 4 channels, about 54 M): param, grad and both moments read,
// param and moments written, f32: 28 bytes per parameter.
void adam_unet() {
  models::GeneratorConfig cfg;
  cfg.image_size = 256;
  const auto net = models::build_generator(cfg);
  Generator gen(15);
  std::vector<Tensor> pc, pg;
  double n = 0;
  for (const Tensor& p : net->parameters()) {
    const Tensor v = Tensor::randn(p.shape(), gen) * 0.02, g = Tensor::randn(p.shape(), gen);
    pc.push_back(v.clone().detach().set_requires_grad(true));
    pg.push_back(v.to(kGpu).detach().set_requires_grad(true));
    pc.back().set_grad(g);
    pg.back().set_grad(g.to(kGpu));
    n += static_cast<double>(p.numel());
  }
  optim::Adam ac(pc), ag(pg);
  ac.step();
  ag.step();
  double err = 0;
  for (size_t i = 0; i < pc.size(); ++i) err = std::max(err, test::relative_error(pg[i], pc[i]));
  const bool valid = err <= 1e-6;
  row(msg("adam, ", pc.size(), " unet_256 tensors, one launch"), DType::f32, {static_cast<int64_t>(n)}, 28 * n,
      valid ? err : INFINITY, [&] { ag.step(); });
}

// Runs one part of the bench; an error (a kernel not registered yet, a CUDA failure) is reported and counted,
// and the other parts still run.
void part(const char* what, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    ++g_invalid;
    std::printf("%s: FAILED: %s\n", what, e.what());
    json_line(msg("\"bench\":\"error\",\"part\":\"", what, "\",\"valid\":false"));
  }
}

#if ASYNDGAN_HAS_CUDNN
// A conv2d of the step (4x4 kernels, padding 1) at batch 16: the U-Net's encoder convs, its decoder's transposed
// convs as the conv2d whose backward-data they are (image = the transposed conv's output), the PatchGAN's.
struct StepConv {
  std::string name;
  int64_t c_in, c_out, size, stride;
};

std::vector<StepConv> step_convs(int64_t size) {
  std::vector<StepConv> v;
  const int64_t ngf = 64, cond = 5, modalities = 4;
  int64_t depth = 0;
  while ((int64_t{1} << depth) < size) ++depth;
  for (int64_t k = 0; k < depth; ++k) {
    const int64_t outer = k == 0 ? modalities : ngf * std::min<int64_t>(int64_t{1} << (k - 1), 8);
    const int64_t inner = ngf * std::min<int64_t>(int64_t{1} << k, 8);
    const int64_t s = size >> k;
    if (s < 4) break;  // the innermost level (2x2 -> 1x1): no layout to speak of
    v.push_back({msg("G down ", k == 0 ? cond : outer, "->", inner), k == 0 ? cond : outer, inner, s, 2});
    v.push_back({msg("G up ", k == depth - 1 ? inner : 2 * inner, "->", outer), outer,
                  k == depth - 1 ? inner : 2 * inner, s, 2});
  }
  int64_t s = size, c = cond + 1;
  for (const auto& [cout, stride] : std::vector<std::pair<int64_t, int64_t>>{{64, 2}, {128, 2}, {256, 2}, {512, 1}, {1, 1}}) {
    v.push_back({msg("D ", c, "->", cout), c, cout, s, stride});
    s = (s + 2 - 4) / stride + 1;
    c = cout;
  }
  return v;
}

// One layer in both layouts: forward, backward-data and backward-weight; the NHWC results, put back in NCHW
// order, against the NCHW ones; then each timed. Adds the layer's three times per layout to `totals`.
void conv_layout(const StepConv& l, DType dt, double totals[2]) {
  const kern::cuda::ConvMath m = backend::conv_math();
  kern::cuda::ConvShape s;
  s.n = 16, s.c_in = l.c_in, s.c_out = l.c_out, s.h = s.w = l.size, s.kh = s.kw = 4;
  s.stride_h = s.stride_w = l.stride, s.pad_h = s.pad_w = 1;
  s.oh = s.ow = (l.size + 2 - 4) / l.stride + 1;
  Generator gen(17);
  const Shape xs{s.n, s.c_in, s.h, s.w}, ws{s.c_out, s.c_in, 4, 4}, ys{s.n, s.c_out, s.oh, s.ow};
  const std::vector<double> x = Tensor::randn(xs, gen).to_doubles(), w = (Tensor::randn(ws, gen) * 0.05).to_doubles(),
                            dy = Tensor::randn(ys, gen).to_doubles();
  struct Run {
    const char* direction;
    std::vector<double> result[2];
    double ms[2];
  } runs[3] = {{"forward", {}, {}}, {"backward-data", {}, {}}, {"backward-weight", {}, {}}};
  for (int layout = 0; layout < 2; ++layout) {
    const bool nhwc = layout == 1;
    s.layout = nhwc ? kern::cuda::ConvLayout::nhwc : kern::cuda::ConvLayout::nchw;
    auto up = [&](const std::vector<double>& v, const Shape& sh) {
      return Tensor::from_doubles(nhwc ? test::channels_last(v, sh[0], sh[1], sh[2], sh[3], false) : v, sh, dt).to(kGpu);
    };
    auto down = [&](const Tensor& t, const Shape& sh) {
      const std::vector<double> v = t.to(Device::cpu()).to_doubles();
      return nhwc ? test::channels_last(v, sh[0], sh[1], sh[2], sh[3], true) : v;
    };
    Tensor xd = up(x, xs), wd = up(w, ws), dyd = up(dy, ys);
    Tensor yd = Tensor::empty(ys, dt, kGpu), dxd = Tensor::empty(xs, dt, kGpu), dwd = Tensor::empty(ws, dt, kGpu);
    const std::function<void()> calls[3] = {
        [&] { kern::cuda::conv2d_forward(dt, s, m, xd.raw_data(), wd.raw_data(), yd.raw_data(), 0); },
        [&] { kern::cuda::conv2d_backward_data(dt, s, m, dyd.raw_data(), wd.raw_data(), dxd.raw_data(), 0); },
        [&] { kern::cuda::conv2d_backward_weight(dt, s, m, xd.raw_data(), dyd.raw_data(), dwd.raw_data(), 0); }};
    const Tensor* outs[3] = {&yd, &dxd, &dwd};
    const Shape* shapes[3] = {&ys, &xs, &ws};
    for (int d = 0; d < 3; ++d) {
      calls[d]();
      runs[d].result[layout] = down(*outs[d], *shapes[d]);
      runs[d].ms[layout] = median_ms(2, std::max(3, g_reps / 2), calls[d]);
    }
  }
  for (const Run& r : runs) {
    const double err = test::relative_error(r.result[1], r.result[0]);
    const bool valid = err <= tolerance(dt);
    if (!valid) ++g_invalid;
    totals[0] += r.ms[0], totals[1] += r.ms[1];
    std::printf("%-22s %-15s %9.3f %9.3f %7.2fx %10.2e %s\n", l.name.c_str(), r.direction, r.ms[0], r.ms[1],
                r.ms[1] / r.ms[0], err, valid ? "ok" : "INVALID");
    std::fflush(stdout);
    json_line(msg("\"bench\":\"conv_layout\",\"layer\":\"", l.name, " @", l.size, "\",\"direction\":\"", r.direction,
                  "\",\"dtype\":\"", dtype_name(dt), "\",\"nchw_ms\":", r.ms[0], ",\"nhwc_ms\":", r.ms[1],
                  ",\"max_rel_err\":", err, ",\"valid\":", valid ? "true" : "false"));
  }
}

void conv_layouts() {
  std::printf("\ncuDNN bf16 conv2d of the step's layers (batch 16, 256x256): NCHW against NHWC, median ms\n");
  std::printf("%-22s %-15s %9s %9s %8s %10s\n", "layer", "direction", "NCHW", "NHWC", "NHWC/NCHW", "max err");
  double totals[2] = {0, 0};
  for (const StepConv& l : step_convs(256)) part("conv layout", [&] { conv_layout(l, DType::bf16, totals); });
  std::printf("all layers, all directions: NCHW %.2f ms, NHWC %.2f ms (NHWC/NCHW %.2fx)\n", totals[0], totals[1],
              totals[1] / totals[0]);
  json_line(msg("\"bench\":\"conv_layout_total\",\"nchw_ms\":", totals[0], ",\"nhwc_ms\":", totals[1]));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  bool quick = false, layouts = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--reps" && i + 1 < argc) g_reps = std::atoi(argv[++i]);
    else if (a == "--quick") quick = true;
    else if (a == "--conv-layouts") layouts = true;
    else {
      std::fprintf(stderr, "usage: bench_cuda_kernels_bench [--json out.jsonl] [--reps N] [--quick] [--conv-layouts]\n");
      return 2;
    }
  }
  if (cuda_rt::device_count() == 0) {
    std::fprintf(stderr, "bench_cuda_kernels_bench: no CUDA device\n");
    return 1;
  }
  if (quick) g_reps = std::min(g_reps, 5);
  if (!json_path.empty()) g_json = std::fopen(json_path.c_str(), "a");
  std::printf("CUDA kernels on %s; median of %d timed calls after 3 warm-up calls\n", cuda_rt::device_name(0), g_reps);
  json_line(msg("\"bench\":\"device\",\"name\":\"", cuda_rt::device_name(0), "\""));
  if (layouts) {
#if ASYNDGAN_HAS_CUDNN
    conv_layouts();
#else
    std::printf("conv layouts: this build has no cuDNN\n");
    ++g_invalid;
#endif
    if (g_json) std::fclose(g_json);
    return g_invalid ? 1 : 0;
  }
  part("copy bandwidth", copy_bandwidth);
  const int64_t n = quick ? 2048 : 8192;
  part("gemm bf16", [&] { gemm_rate(DType::bf16, false, n); });
  part("gemm tf32", [&] { gemm_rate(DType::f32, true, n); });
  part("gemm f32", [&] { gemm_rate(DType::f32, false, n); });

  std::printf("\n%-34s %5s %-20s %9s %9s %8s %10s\n", "kernel", "dtype", "shape", "ms", "GB/s", "% copy", "max err");
  const std::vector<Shape> norm_shapes = {{16, 64, 128, 128}, {16, 128, 64, 64}, {16, 256, 32, 32}, {16, 512, 16, 16}};
  for (DType dt : {DType::bf16, DType::f32}) {
    for (const Shape& s : norm_shapes) part("fused norm", [&] { fused_norm(s, dt); });
    part("elementwise", [&] { elementwise({16, 64, 128, 128}, dt); });
    part("reflection pad", [&] { reflection_pad({16, 256, 64, 64}, dt, 1); });
    part("reflection pad", [&] { reflection_pad({16, 3, 256, 256}, dt, 3); });
  }
  part("copies", [] { copies({16, 64, 128, 128}); });
  part("adam", adam_unet);
  if (g_json) std::fclose(g_json);
  if (g_invalid) std::printf("\n%d result(s) INVALID against the CPU\n", g_invalid);
  return g_invalid ? 1 : 0;
}
