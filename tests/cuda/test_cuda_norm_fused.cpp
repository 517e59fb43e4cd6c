// The fused normalization + activation kernels called directly through the backend table (engine/backend.h),
// for both norms and every Act, training and eval, f32 and bf16: the forward (output, saved statistics, running
// statistics) and the backward (input, weight and bias gradients) against the CPU ops composed and differentiated.
#include <doctest/doctest.h>
#include "cuda/cuda_case.h"
#include "engine/backend.h"

using namespace asyndgan;
using namespace asyndgan::test;
using backend::Act;

namespace {

Tensor cpu_act(Act a, double slope, const Tensor& x) {
  switch (a) {
    case Act::relu: return relu(x);
    case Act::leaky_relu: return leaky_relu(x, slope);
    case Act::tanh: return asyndgan::tanh(x);
    case Act::sigmoid: return sigmoid(x);
    default: return x;
  }
}

void run_fused(const Shape& s, bool per_channel, bool training, bool affine, Act act, DType dt) {
  const std::string label = std::string(per_channel ? "batch" : "instance") + " norm " + (training ? "train" : "eval") +
                            (affine ? " affine" : "") + " act " + std::to_string(static_cast<int>(act)) + " x" +
                            shape_str(s) + " " + dtype_name(dt);
  CAPTURE(label);
  Generator gen(name_seed(label));
  const int64_t C = s[1], groups = per_channel ? C : s[0] * C;
  const Tensor x = rounded(Tensor::randn(s, gen), dt), up = rounded(Tensor::randn(s, gen), dt);
  const Tensor w = Tensor::rand({C}, gen, DType::f32, 0.5, 1.5), b = Tensor::randn({C}, gen);
  const Tensor rm0 = Tensor::randn({C}, gen), rv0 = Tensor::rand({C}, gen, DType::f32, 0.5, 1.5);
  backend::NormConfig cfg;
  cfg.per_channel = per_channel;
  cfg.training = training;
  cfg.act = act;
  cfg.slope = 0.2;

  // CPU: the ops composed, differentiated by autograd.
  Tensor xc = x.clone(), wc = w.clone(), bc = b.clone(), rmc = rm0.clone(), rvc = rv0.clone();
  xc.set_requires_grad(true);
  if (affine) {
    wc.set_requires_grad(true);
    bc.set_requires_grad(true);
  }
  const Tensor normed = per_channel ? batch_norm(xc, affine ? wc : Tensor(), affine ? bc : Tensor(), rmc, rvc, training, cfg.momentum, cfg.eps)
                                    : instance_norm(xc, affine ? wc : Tensor(), affine ? bc : Tensor(), cfg.eps);
  const Tensor yc = cpu_act(act, cfg.slope, normed);
  yc.backward(up);

  // GPU: one fused forward, one fused backward.
  const Tensor xg = x.to(kGpu).to(dt), upg = up.to(kGpu).to(dt);
  const Tensor wg = affine ? w.to(kGpu) : Tensor(), bg = affine ? b.to(kGpu) : Tensor();
  Tensor rmg = per_channel ? rm0.to(kGpu) : Tensor(), rvg = per_channel ? rv0.to(kGpu) : Tensor();
  Tensor yg = Tensor::empty(s, dt, kGpu), mean = Tensor::empty({groups}, DType::f32, kGpu),
         invstd = Tensor::empty({groups}, DType::f32, kGpu);
  const backend::CudaKernels& k = backend::cuda("norm_forward");
  REQUIRE_MESSAGE((k.norm_forward && k.norm_backward), "the fused norm kernels are not registered");
  k.norm_forward(xg, wg, bg, rmg, rvg, cfg, yg, mean, invstd);
  check_close(yg, yc, dt, label + " output");
  if (per_channel && training) {
    check_close(rmg, rmc, dt, label + " running_mean");
    check_close(rvg, rvc, dt, label + " running_var");
  }
  Tensor gx = Tensor::empty(s, dt, kGpu);
  Tensor gw = affine ? Tensor::empty({C}, DType::f32, kGpu) : Tensor(), gb = affine ? Tensor::empty({C}, DType::f32, kGpu) : Tensor();
  k.norm_backward(upg, xg, wg, bg, mean, invstd, cfg, gx, gw, gb);
  check_close(gx, xc.grad(), dt, label + " grad x");
  if (affine) {
    check_close(gw, wc.grad(), dt, label + " grad weight");
    check_close(gb, bc.grad(), dt, label + " grad bias");
  }
}

}  // namespace

TEST_CASE("fused norm + activation kernels: every Act, both norms, training and eval, f32 and bf16") {
  const std::vector<Shape> shapes = {{1, 3, 5, 7}, {4, 8, 9, 9}, {2, 64, 32, 32}, {16, 5, 3, 2}, {1, 512, 1, 1}, {2, 4, 1, 1}};
  for (DType dt : {DType::f32, DType::bf16})
    for (const Shape& s : shapes)
      for (Act act : {Act::none, Act::relu, Act::leaky_relu, Act::tanh, Act::sigmoid})
        for (bool affine : {false, true}) {
          // instance_norm (the CPU reference) rejects planes of one element, as PyTorch does
          if (s[2] * s[3] > 1) run_fused(s, false, true, affine, act, dt);
          if (s[0] * s[2] * s[3] > 1) run_fused(s, true, true, affine, act, dt);  // one value: no unbiased variance
          run_fused(s, true, false, affine, act, dt);
        }
}
