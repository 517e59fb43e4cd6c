// Activations (relu, leaky_relu, tanh, sigmoid) and dropout, forward and backward side by side.
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/cuda_graph.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/elementwise.h"

namespace asyndgan {
namespace {

using backend::Act;

// Checks x and runs kernel(T{}, in, out, n) (on a GPU: activation `act`) into a new tensor; `in` is x made
// contiguous (returned too).
template <class K>
Tensor apply_unary(const char* op, Act act, double slope, const Tensor& x, Tensor& xc, K kernel) {
  check_defined(op, x, "x");
  xc = x.contiguous();
  Tensor out = Tensor::empty_like(x);
  if (backend::on_cuda({x})) {
    backend::cuda(op).unary(act, slope, xc, out);
    return out;
  }
  dispatch_floating(op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernel(tag, xc.data<T>(), out.data<T>(), out.numel());
  });
  return out;
}

// Backward of an activation whose derivative needs one saved tensor (input or output) besides dL/dy.
template <class K>
Tensor apply_backward(const char* op, Act act, double slope, const Tensor& g, const Tensor& saved, K kernel) {
  Tensor gc = g.contiguous();
  Tensor gin = Tensor::empty_like(saved);
  if (saved.device().is_cuda()) {
    backend::cuda(op).unary_backward(act, slope, gc, saved, gin);
    return gin;
  }
  dispatch_floating(op, saved.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernel(tag, gc.data<T>(), saved.data<T>(), gin.data<T>(), gin.numel());
  });
  return gin;
}

}  // namespace

Tensor relu(const Tensor& x) {
  Tensor xc;
  Tensor out = apply_unary("relu", Act::relu, 0.0, x, xc, [](auto tag, const auto* in, auto* o, int64_t n) {
    kern::cpu::relu_forward<decltype(tag)>(in, o, n);
  });
  record(out, "relu", {x}, [y = out.detach()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{
        apply_backward("relu", Act::relu, 0.0, g, y, [](auto tag, const auto* gp, const auto* yp, auto* o, int64_t n) {
          kern::cpu::relu_backward<decltype(tag)>(gp, yp, o, n);
        })};
  });
  return out;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  Tensor xc;
  Tensor out = apply_unary("leaky_relu", Act::leaky_relu, negative_slope, x, xc,
                           [negative_slope](auto tag, const auto* in, auto* o, int64_t n) {
                             using T = decltype(tag);
                             kern::cpu::leaky_relu_forward<T>(in, static_cast<T>(negative_slope), o, n);
                           });
  record(out, "leaky_relu", {x}, [xs = xc.detach(), negative_slope](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{apply_backward(
        "leaky_relu", Act::leaky_relu, negative_slope, g, xs,
        [negative_slope](auto tag, const auto* gp, const auto* xp, auto* o, int64_t n) {
          using T = decltype(tag);
          kern::cpu::leaky_relu_backward<T>(gp, xp, static_cast<T>(negative_slope), o, n);
        })};
  });
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor xc;
  Tensor out = apply_unary("tanh", Act::tanh, 0.0, x, xc, [](auto tag, const auto* in, auto* o, int64_t n) {
    kern::cpu::tanh_forward<decltype(tag)>(in, o, n);
  });
  record(out, "tanh", {x}, [y = out.detach()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{
        apply_backward("tanh", Act::tanh, 0.0, g, y, [](auto tag, const auto* gp, const auto* yp, auto* o, int64_t n) {
          kern::cpu::tanh_backward<decltype(tag)>(gp, yp, o, n);
        })};
  });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  Tensor xc;
  Tensor out = apply_unary("sigmoid", Act::sigmoid, 0.0, x, xc, [](auto tag, const auto* in, auto* o, int64_t n) {
    kern::cpu::sigmoid_forward<decltype(tag)>(in, o, n);
  });
  record(out, "sigmoid", {x}, [y = out.detach()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{
        apply_backward("sigmoid", Act::sigmoid, 0.0, g, y, [](auto tag, const auto* gp, const auto* yp, auto* o, int64_t n) {
          kern::cpu::sigmoid_backward<decltype(tag)>(gp, yp, o, n);
        })};
  });
  return out;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  check_defined("dropout", x, "x");
  if (!(p >= 0.0 && p < 1.0)) throw ValueError(msg("dropout: p must be in [0, 1), got ", p));
  if (!training || p == 0.0) return x;
  const bool cuda = backend::on_cuda({x});
  // Check the dtype (and that there are kernels) before drawing, so a failed call does not advance the generator.
  const backend::CudaKernels* k = nullptr;
  if (cuda) {
    if (x.dtype() != DType::f32 && x.dtype() != DType::f64 && x.dtype() != DType::bf16)
      throw DTypeError(msg("dropout: CUDA kernels exist for f32, f64 and bf16, got ", dtype_name(x.dtype())));
    k = &backend::cuda("dropout");
  } else {
    dispatch_floating("dropout", x.dtype(), [](auto) {});
  }
  const int64_t n = x.numel();
  const uint64_t blocks = static_cast<uint64_t>((n + 3) / 4);
  Tensor xc = x.contiguous();
  Tensor mask = Tensor::empty_like(x);
  Tensor out = Tensor::empty_like(x);
  if (CudaGraph* graph = cuda ? CudaGraph::current(x.device()) : nullptr) {
    // Captured: the kernel reads the generator's seed and offset from the device, which each replay refreshes.
    uint64_t relative_first = 0;
    const Tensor& state = graph->reserve_philox(gen, blocks, relative_first);
    k->dropout_captured(state, relative_first, p, xc, mask, out);
  } else if (cuda) {
    k->dropout(gen.key(), gen.reserve(blocks), p, xc, mask, out);
  } else {
    const uint64_t first = gen.reserve(blocks);
    dispatch_floating("dropout", x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kern::cpu::dropout_mask<T>(gen.key(), first, p, static_cast<T>(1.0 / (1.0 - p)), mask.data<T>(), n);
      kern::cpu::mul<T>(xc.data<T>(), mask.data<T>(), out.data<T>(), n);
    });
  }
  record(out, "dropout", {x}, [mask](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(g, mask)};
  });
  return out;
}

}  // namespace asyndgan
