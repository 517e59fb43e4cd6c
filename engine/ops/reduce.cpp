// Full reductions to a 0-D tensor: sum and mean.
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/elementwise.h"

namespace asyndgan {
namespace {

Tensor scaled_sum(const char* op, const Tensor& x, double scale) {
  check_defined(op, x, "x");
  Tensor xc = x.contiguous();
  Tensor out;
  if (backend::on_cuda({x})) {
    // The result stays on the device: f64 for f64 input, else f32 (a bf16 sum would lose the total's digits).
    out = Tensor::empty({}, x.dtype() == DType::f64 ? DType::f64 : DType::f32, x.device());
    backend::cuda(op).sum(xc, scale, out);
  } else {
    double s = dispatch_floating(op, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return kern::cpu::sum<T>(xc.data<T>(), xc.numel());
    });
    out = Tensor::scalar(s * scale, x.dtype());
  }
  Shape shape = x.shape();
  DType dtype = x.dtype();
  record(out, op, {x}, [shape, scale, dtype, op](const Tensor& g, const std::vector<bool>&) {
    // x's dtype, not g's: on a GPU a bf16 x has an f32 sum. There the value stays on the device (no wait, and
    // capturable in a CUDA graph).
    if (g.device().is_cuda()) {
      Tensor gin = Tensor::empty(shape, dtype, g.device());
      backend::cuda(op).fill_from_scalar(g, scale, gin);
      return std::vector<Tensor>{gin};
    }
    return std::vector<Tensor>{Tensor::full(shape, g.item() * scale, dtype, g.device())};
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return scaled_sum("sum", x, 1.0); }

Tensor mean(const Tensor& x) {
  if (x.defined() && x.numel() == 0) throw ShapeError(msg("mean: empty tensor of shape ", shape_str(x.shape())));
  return scaled_sum("mean", x, x.defined() ? 1.0 / static_cast<double>(x.numel()) : 1.0);
}

}  // namespace asyndgan
