// Full reductions to a 0-D tensor: sum and mean.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/elementwise.h"

namespace asyndgan {
namespace {

Tensor scaled_sum(const char* op, const Tensor& x, double scale) {
  check_defined(op, x, "x");
  check_cpu(op, {x});
  Tensor xc = x.contiguous();
  double s = dispatch_floating(op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return kern::cpu::sum<T>(xc.data<T>(), xc.numel());
  });
  Tensor out = Tensor::scalar(s * scale, x.dtype());
  Shape shape = x.shape();
  record(out, op, {x}, [shape, scale](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{Tensor::full(shape, g.item() * scale, g.dtype(), g.device())};
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
