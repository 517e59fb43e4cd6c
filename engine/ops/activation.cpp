// Activations (relu, leaky_relu, tanh, sigmoid) and dropout, forward and backward side by side; each can write
// into a given destination (engine/rows.h), and each backward reads a gradient with rows as is (no copy).
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/cuda_graph.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/rows.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/elementwise.h"

namespace asyndgan {
namespace {

using backend::Act;

template <class T> void cpu_forward(Act act, T slope, const T* x, T* out, int64_t n) {
  switch (act) {
    case Act::relu: return kern::cpu::relu_forward<T>(x, out, n);
    case Act::leaky_relu: return kern::cpu::leaky_relu_forward<T>(x, slope, out, n);
    case Act::tanh: return kern::cpu::tanh_forward<T>(x, out, n);
    case Act::sigmoid: return kern::cpu::sigmoid_forward<T>(x, out, n);
    case Act::none: break;
  }
}
template <class T> void cpu_backward(Act act, T slope, const T* g, const T* saved, T* gin, int64_t n) {
  switch (act) {
    case Act::relu: return kern::cpu::relu_backward<T>(g, saved, gin, n);
    case Act::leaky_relu: return kern::cpu::leaky_relu_backward<T>(g, saved, slope, gin, n);
    case Act::tanh: return kern::cpu::tanh_backward<T>(g, saved, gin, n);
    case Act::sigmoid: return kern::cpu::sigmoid_backward<T>(g, saved, gin, n);
    case Act::none: break;
  }
}

// A tensor's rows, or its contiguous copy's (a gradient or saved tensor with rows is read in place).
Tensor with_rows(const Tensor& t, Rows& rows) {
  if (std::optional<Rows> r = rows_of(t)) {
    rows = *r;
    return t;
  }
  Tensor c = t.contiguous();
  rows = Rows{1, c.numel(), c.numel()};
  return c;
}

// dL/dx from dL/dy and the saved tensor (the input for leaky_relu, whose output's sign is ambiguous for slope <= 0;
// the output otherwise); both may have rows, dL/dx is contiguous.
Tensor activation_backward(const char* op, Act act, double slope, const Tensor& g, const Tensor& saved) {
  Rows gr, sr;
  const Tensor gv = with_rows(g, gr), sv = with_rows(saved, sr);
  Tensor gin = Tensor::empty(saved.shape(), saved.dtype(), saved.device());
  if (saved.device().is_cuda()) {
    backend::cuda(op).unary_backward(act, slope, gv, sv, gin);
    return gin;
  }
  dispatch_floating(op, saved.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *gp = gv.data<T>(), *sp = sv.data<T>();
    T* o = gin.data<T>();
    if (gr.dense() && sr.dense()) return cpu_backward<T>(act, static_cast<T>(slope), gp, sp, o, gin.numel());
    for (int64_t i = 0; i < gr.n; ++i)
      cpu_backward<T>(act, static_cast<T>(slope), gp + i * gr.stride, sp + i * sr.stride, o + i * gr.inner, gr.inner);
  });
  return gin;
}

// act(x) into a new tensor, or into `out` (a destination with rows) when it is defined.
Tensor activation(const char* op, Act act, double slope, const Tensor& x, const Tensor& out) {
  check_defined(op, x, "x");
  Tensor xc = x.contiguous();
  Rows rows{1, x.numel(), x.numel()};
  Tensor y;
  if (out.defined()) {
    rows = check_destination(op, out, x);
    y = result_view(out);
  } else {
    y = Tensor::empty_like(x);
  }
  if (backend::on_cuda({x})) {
    backend::cuda(op).unary(act, slope, xc, y);
  } else {
    dispatch_floating(op, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = xc.data<T>();
      T* o = y.data<T>();
      for_rows(rows, [&](int64_t i, int64_t j, int64_t n) { cpu_forward<T>(act, static_cast<T>(slope), in + i, o + j, n); });
    });
  }
  const Tensor saved = act == Act::leaky_relu ? xc.detach() : y.detach();
  record(y, op, {x}, [op, act, slope, saved](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{activation_backward(op, act, slope, g, saved)};
  });
  return y;
}

}  // namespace

Tensor relu(const Tensor& x) { return activation("relu", Act::relu, 0.0, x, Tensor()); }
Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return activation("leaky_relu", Act::leaky_relu, negative_slope, x, Tensor());
}
Tensor tanh(const Tensor& x) { return activation("tanh", Act::tanh, 0.0, x, Tensor()); }
Tensor sigmoid(const Tensor& x) { return activation("sigmoid", Act::sigmoid, 0.0, x, Tensor()); }

Tensor activation_into(const Tensor& x, const NormActivation& act, const Tensor& out) {
  switch (act.kind) {
    case NormActivation::Kind::relu: return activation("relu", Act::relu, 0.0, x, out);
    case NormActivation::Kind::leaky_relu: return activation("leaky_relu", Act::leaky_relu, act.negative_slope, x, out);
    case NormActivation::Kind::tanh: return activation("tanh", Act::tanh, 0.0, x, out);
    case NormActivation::Kind::sigmoid: return activation("sigmoid", Act::sigmoid, 0.0, x, out);
    case NormActivation::Kind::none: break;
  }
  throw ValueError("activation_into: expected an activation, got NormActivation::Kind::none");
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen, const Tensor& out) {
  check_defined("dropout", x, "x");
  if (!(p >= 0.0 && p < 1.0)) throw ValueError(msg("dropout: p must be in [0, 1), got ", p));
  Rows rows{1, x.numel(), x.numel()};
  if (out.defined()) rows = check_destination("dropout", out, x);
  if (!training || p == 0.0) {
    if (!out.defined()) return x;
    // The identity into a destination: a copy (callers that own the destination hand it to x's producer instead).
    Tensor y = result_view(out);
    y.copy_(x);
    record(y, "dropout", {x}, [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g}; });
    return y;
  }
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
  Tensor y = out.defined() ? result_view(out) : Tensor::empty_like(x);
  if (CudaGraph* graph = cuda ? CudaGraph::current(x.device()) : nullptr) {
    // Captured: the kernel reads the generator's seed and offset from the device, which each replay refreshes.
    uint64_t relative_first = 0;
    const Tensor& state = graph->reserve_philox(gen, blocks, relative_first);
    k->dropout_captured(state, relative_first, p, xc, mask, y);
  } else if (cuda) {
    k->dropout(gen.key(), gen.reserve(blocks), p, xc, mask, y);
  } else {
    const uint64_t first = gen.reserve(blocks);
    dispatch_floating("dropout", x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kern::cpu::dropout_mask<T>(gen.key(), first, p, static_cast<T>(1.0 / (1.0 - p)), mask.data<T>(), n);
      const T *in = xc.data<T>(), *m = mask.data<T>();
      T* o = y.data<T>();
      for_rows(rows, [&](int64_t i, int64_t j, int64_t cnt) { kern::cpu::mul<T>(in + i, m + i, o + j, cnt); });
    });
  }
  record(y, "dropout", {x}, [mask](const Tensor& g, const std::vector<bool>&) {
    Rows gr;
    const Tensor gv = with_rows(g, gr);
    if (g.device().is_cuda() || gr.dense()) return std::vector<Tensor>{mul(gv.contiguous(), mask)};
    // A gradient with rows (a channel range of the concatenated buffer's gradient) is read in place.
    Tensor gin = Tensor::empty_like(mask);
    dispatch_floating("dropout", mask.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < gr.n; ++i)
        kern::cpu::mul<T>(gv.data<T>() + i * gr.stride, mask.data<T>() + i * gr.inner, gin.data<T>() + i * gr.inner,
                          gr.inner);
    });
    return std::vector<Tensor>{gin};
  });
  return y;
}

}  // namespace asyndgan
