// Elementwise and scalar ops, forward and backward side by side.
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/elementwise.h"

namespace asyndgan {
namespace {

// out = alpha * a + beta * b over same-shaped tensors.
Tensor linear_combination(const char* op, const Tensor& a, double alpha, const Tensor& b, double beta) {
  check_defined(op, a, "a");
  check_defined(op, b, "b");
  check_same_shape(op, a, b);
  Tensor ac = a.contiguous(), bc = b.contiguous();
  Tensor out = Tensor::empty_like(a);
  if (backend::on_cuda({a, b})) {
    backend::cuda(op).axpby(alpha, ac, beta, bc, out);
    return out;
  }
  dispatch_floating(op, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kern::cpu::axpby<T>(static_cast<T>(alpha), ac.data<T>(), static_cast<T>(beta), bc.data<T>(), out.data<T>(), out.numel());
  });
  return out;
}

Tensor scaled(const Tensor& a, double scale, double shift, const char* op) {
  check_defined(op, a, "a");
  Tensor ac = a.contiguous();
  Tensor out = Tensor::empty_like(a);
  if (backend::on_cuda({a})) {
    backend::cuda(op).affine(ac, scale, shift, out);
    return out;
  }
  dispatch_floating(op, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kern::cpu::affine<T>(ac.data<T>(), static_cast<T>(scale), static_cast<T>(shift), out.data<T>(), out.numel());
  });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = linear_combination("add", a, 1.0, b, 1.0);
  record(out, "add", {a, b}, [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g, g}; });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = linear_combination("sub", a, 1.0, b, -1.0);
  record(out, "sub", {a, b}, [](const Tensor& g, const std::vector<bool>& needs) {
    return std::vector<Tensor>{g, needs[1] ? neg(g) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_defined("mul", a, "a");
  check_defined("mul", b, "b");
  check_same_shape("mul", a, b);
  Tensor ac = a.contiguous(), bc = b.contiguous();
  Tensor out = Tensor::empty_like(a);
  if (backend::on_cuda({a, b})) {
    backend::cuda("mul").mul(ac, bc, out);
  } else {
    dispatch_floating("mul", a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kern::cpu::mul<T>(ac.data<T>(), bc.data<T>(), out.data<T>(), out.numel());
    });
  }
  record(out, "mul", {a, b}, [ac = ac.detach(), bc = bc.detach()](const Tensor& g, const std::vector<bool>& needs) {
    return std::vector<Tensor>{needs[0] ? mul(g, bc) : Tensor(), needs[1] ? mul(g, ac) : Tensor()};
  });
  return out;
}

Tensor add_scalar(const Tensor& a, double s) {
  Tensor out = scaled(a, 1.0, s, "add_scalar");
  record(out, "add_scalar", {a}, [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor mul_scalar(const Tensor& a, double s) {
  Tensor out = scaled(a, s, 0.0, "mul_scalar");
  record(out, "mul_scalar", {a}, [s](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul_scalar(g, s)};
  });
  return out;
}

Tensor neg(const Tensor& a) { return mul_scalar(a, -1.0); }

void add_(Tensor& a, const Tensor& b, double alpha) {
  check_same_shape("add_", a, b);
  if (!a.is_contiguous()) throw ShapeError(msg("add_: destination of shape ", shape_str(a.shape()), " must be contiguous"));
  Tensor bc = b.contiguous();
  if (backend::on_cuda({a, b})) {
    backend::cuda("add_").axpy_(a, alpha, bc);
    return;
  }
  dispatch_floating("add_", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kern::cpu::axpy_inplace<T>(a.data<T>(), static_cast<T>(alpha), bc.data<T>(), a.numel());
  });
}

}  // namespace asyndgan
