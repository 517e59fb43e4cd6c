// Losses reduced to a 0-D tensor: masked L1, MSE and BCE on logits, forward and backward side by side.
#include <algorithm>
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/loss.h"

namespace asyndgan {
namespace {

void check_pair(const char* op, const Tensor& x, const char* xname, const Tensor& y, const char* yname) {
  check_defined(op, x, xname);
  check_defined(op, y, yname);
  check_same_shape(op, x, y);
  if (x.numel() == 0) throw ShapeError(msg(op, ": empty input of shape ", shape_str(x.shape())));
}

// Sum of per-element terms computed by terms(T{}, out) into a scratch buffer, reduced deterministically.
template <class K>
double sum_of_terms(const char* op, const Tensor& like, K terms) {
  Tensor scratch = Tensor::empty_like(like);
  return dispatch_floating(op, like.dtype(), [&](auto tag) {
    using T = decltype(tag);
    terms(tag, scratch.data<T>());
    return kern::cpu::sum<T>(scratch.data<T>(), scratch.numel());
  });
}

// A loss on the GPU is a 0-D device tensor: f64 for f64 inputs, else f32 (also for bf16, as backend.h says).
Tensor device_loss(const Tensor& like) {
  return Tensor::empty({}, like.dtype() == DType::f64 ? DType::f64 : DType::f32, like.device());
}

}  // namespace

Tensor l1_loss(const Tensor& x, const Tensor& y, const Tensor& mask) {
  check_pair("l1_loss", x, "x", y, "y");
  Tensor mc;
  if (mask.defined()) {
    check_same_shape("l1_loss (mask)", x, mask);
    mc = mask.detach().contiguous();
  }
  Tensor xc = x.contiguous(), yc = y.contiguous();
  const int64_t n = x.numel();
  double denom = static_cast<double>(n);  // the CPU's; the GPU backward recomputes max(sum(mask), 1) on the device
  Tensor out;
  if (backend::on_cuda({x})) {
    out = device_loss(x);
    backend::cuda("l1_loss").l1_forward(xc, yc, mc, out);
  } else {
    if (mc.defined()) {
      const double mask_sum = dispatch_floating("l1_loss", mc.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return kern::cpu::sum<T>(mc.data<T>(), n);
      });
      denom = std::max(mask_sum, 1.0);
    }
    double total = sum_of_terms("l1_loss", x, [&](auto tag, auto* o) {
      using T = decltype(tag);
      kern::cpu::l1_terms<T>(xc.data<T>(), yc.data<T>(), mc.defined() ? mc.data<T>() : nullptr, o, n);
    });
    out = Tensor::scalar(total / denom, x.dtype());
  }
  record(out, "l1_loss", {x, y}, [xc = xc.detach(), yc = yc.detach(), mc, denom](const Tensor& g, const std::vector<bool>& needs) {
    Tensor gx = Tensor::empty_like(xc);
    if (xc.device().is_cuda()) {
      backend::cuda("l1_loss").l1_backward(g, xc, yc, mc, gx);
    } else {
      dispatch_floating("l1_loss", xc.dtype(), [&](auto tag) {
        using T = decltype(tag);
        kern::cpu::l1_grad<T>(xc.data<T>(), yc.data<T>(), mc.defined() ? mc.data<T>() : nullptr,
                              static_cast<T>(g.item() / denom), gx.data<T>(), gx.numel());
      });
    }
    return std::vector<Tensor>{gx, needs[1] ? neg(gx) : Tensor()};
  });
  return out;
}

Tensor mse_loss(const Tensor& x, const Tensor& y) {
  check_pair("mse_loss", x, "x", y, "y");
  Tensor xc = x.contiguous(), yc = y.contiguous();
  const int64_t n = x.numel();
  Tensor out;
  if (backend::on_cuda({x})) {
    out = device_loss(x);
    backend::cuda("mse_loss").mse_forward(xc, yc, out);
  } else {
    double total = sum_of_terms("mse_loss", x, [&](auto tag, auto* o) {
      using T = decltype(tag);
      kern::cpu::squared_diff<T>(xc.data<T>(), yc.data<T>(), o, n);
    });
    out = Tensor::scalar(total / static_cast<double>(n), x.dtype());
  }
  record(out, "mse_loss", {x, y}, [xc = xc.detach(), yc = yc.detach()](const Tensor& g, const std::vector<bool>& needs) {
    // d/dx mean((x - y)^2) = 2 (x - y) / n, and the negative for y.
    Tensor gx = Tensor::empty_like(xc);
    if (xc.device().is_cuda()) {
      backend::cuda("mse_loss").mse_backward(g, xc, yc, gx);
    } else {
      const double s = 2.0 * g.item() / static_cast<double>(xc.numel());
      dispatch_floating("mse_loss", xc.dtype(), [&](auto tag) {
        using T = decltype(tag);
        kern::cpu::axpby<T>(static_cast<T>(s), xc.data<T>(), static_cast<T>(-s), yc.data<T>(), gx.data<T>(), gx.numel());
      });
    }
    return std::vector<Tensor>{gx, needs[1] ? neg(gx) : Tensor()};
  });
  return out;
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& target) {
  check_pair("bce_with_logits", logits, "logits", target, "target");
  Tensor xc = logits.contiguous(), tc = target.contiguous();
  const int64_t n = logits.numel();
  Tensor out;
  if (backend::on_cuda({logits})) {
    out = device_loss(logits);
    backend::cuda("bce_with_logits").bce_forward(xc, tc, out);
  } else {
    double total = sum_of_terms("bce_with_logits", logits, [&](auto tag, auto* o) {
      using T = decltype(tag);
      kern::cpu::bce_logits_terms<T>(xc.data<T>(), tc.data<T>(), o, n);
    });
    out = Tensor::scalar(total / static_cast<double>(n), logits.dtype());
  }
  record(out, "bce_with_logits", {logits, target},
         [xc = xc.detach(), tc = tc.detach()](const Tensor& g, const std::vector<bool>& needs) {
           Tensor gx, gt;
           if (needs[0]) gx = Tensor::empty_like(xc);
           if (needs[1]) gt = Tensor::empty_like(xc);
           if (xc.device().is_cuda()) {
             backend::cuda("bce_with_logits").bce_backward(g, xc, tc, gx, gt);
             return std::vector<Tensor>{gx, gt};
           }
           const double s = g.item() / static_cast<double>(xc.numel());
           dispatch_floating("bce_with_logits", xc.dtype(), [&](auto tag) {
             using T = decltype(tag);
             if (needs[0])
               kern::cpu::bce_logits_grad<T>(xc.data<T>(), tc.data<T>(), static_cast<T>(s), gx.data<T>(), gx.numel());
             if (needs[1])  // d/dt = -x / n
               kern::cpu::affine<T>(xc.data<T>(), static_cast<T>(-s), T(0), gt.data<T>(), gt.numel());
           });
           return std::vector<Tensor>{gx, gt};
         });
  return out;
}

}  // namespace asyndgan
