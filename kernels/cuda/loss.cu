// CUDA losses: forward terms summed by the deterministic reduction (kernels/cuda/reduce.cuh) into a 0-D device
// result; backward kernels read dL/dloss from device memory, so neither direction waits on the host.
#include <type_traits>
#include "kernels/common/elementwise_math.h"
#include "kernels/common/loss_math.h"
#include "kernels/cuda/loss.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/cuda/reduce.cuh"

namespace asyndgan::kern::cuda {
namespace {

// dL/dloss is the loss's own dtype: f32 (for f32 and bf16 inputs) or f64.
template <class F> void dispatch_grad(const char* op, const Tensor& g, F&& f) {
  if (g.dtype() == DType::f32) return f(cptr<float>(g));
  if (g.dtype() == DType::f64) return f(cptr<double>(g));
  throw DTypeError(std::string(op) + ": dL/dloss must be f32 or f64, got " + dtype_name(g.dtype()));
}

// ---- forward terms, each widened to double before the sum ----

template <class T> struct L1Term {
  const T* x;
  const T* y;
  __device__ void operator()(int64_t i, double (&acc)[1]) const {
    acc[0] += static_cast<double>(l1_term(load(x, i), load(y, i), acc_t<T>(1)));
  }
};
// The masked L1 sums the terms and the mask in one pass: acc[1] is the denominator's sum(mask).
template <class T> struct MaskedL1Term {
  const T* x;
  const T* y;
  const T* m;
  __device__ void operator()(int64_t i, double (&acc)[2]) const {
    const acc_t<T> mi = load(m, i);
    acc[0] += static_cast<double>(l1_term(load(x, i), load(y, i), mi));
    acc[1] += static_cast<double>(mi);
  }
};
template <class T> struct MaskSum {
  const T* m;
  __device__ void operator()(int64_t i, double (&acc)[1]) const { acc[0] += static_cast<double>(load(m, i)); }
};
template <class T> struct SquaredDiffTerm {
  const T* x;
  const T* y;
  __device__ void operator()(int64_t i, double (&acc)[1]) const {
    acc[0] += static_cast<double>(squared_diff_term(load(x, i), load(y, i)));
  }
};
template <class T> struct BceTerm {
  const T* x;
  const T* t;
  __device__ void operator()(int64_t i, double (&acc)[1]) const {
    acc[0] += static_cast<double>(bce_logits_term(load(x, i), load(t, i)));
  }
};

// coef = dL/dloss / max(sum(mask), 1), the masked L1's per-element scale, computed on the device.
template <class G> struct GradOverMaskSum {
  const G* grad;
  double* coef;
  __device__ void operator()(const double (&total)[1]) const {
    coef[0] = static_cast<double>(grad[0]) / (total[0] > 1.0 ? total[0] : 1.0);
  }
};

// ---- backward: scale = dL/dloss / n (or the precomputed masked coefficient), rounded to acc_t<T> ----

template <class T, class G> struct L1Grad {
  const G* grad;
  const double* coef;  // non-null with a mask
  double n;
  const T* x;
  const T* y;
  const T* m;  // may be null
  T* gx;
  __device__ void operator()(int64_t i) const {
    using A = acc_t<T>;
    const A s = static_cast<A>(coef ? coef[0] : static_cast<double>(grad[0]) / n);
    store(gx, i, l1_grad_term(load(x, i), load(y, i), m ? load(m, i) : A(1), s));
  }
};
template <class T, class G> struct MseGrad {
  const G* grad;
  double n;
  const T* x;
  const T* y;
  T* gx;
  __device__ void operator()(int64_t i) const {
    using A = acc_t<T>;
    const double s = 2.0 * static_cast<double>(grad[0]) / n;
    store(gx, i, axpby_value(static_cast<A>(s), load(x, i), static_cast<A>(-s), load(y, i)));
  }
};
template <class T, class G> struct BceGrad {
  const G* grad;
  double n;
  const T* x;
  const T* t;
  T* gx;  // either may be null
  T* gt;
  __device__ void operator()(int64_t i) const {
    using A = acc_t<T>;
    const double s = static_cast<double>(grad[0]) / n;
    const A xi = load(x, i);
    if (gx) store(gx, i, static_cast<A>(s) * bce_logits_dx(xi, load(t, i)));
    if (gt) store(gt, i, affine_value(xi, static_cast<A>(-s), A(0)));  // d/dt = -x / n
  }
};

// Runs reduction K over the terms and writes total[0] / n (or / max(total[1], 1) when masked) to out.
template <int K, class Term> void mean_of_terms(const char* op, const Tensor& like, Term term, Tensor& out,
                                                bool masked) {
  with_scalar_out(op, out, [&](auto* o) {
    using Out = std::remove_pointer_t<decltype(o)>;
    deterministic_sum<K>(like.device(), like.numel(), term,
                         WriteScaled<Out>{o, 1.0, static_cast<double>(like.numel()), masked}, op);
  });
}

}  // namespace

void l1_forward(const Tensor& x, const Tensor& y, const Tensor& mask, Tensor& out) {
  dispatch_cuda_floating("l1_loss", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (mask.defined())
      mean_of_terms<2>("l1_loss", x, MaskedL1Term<T>{cptr<T>(x), cptr<T>(y), cptr<T>(mask)}, out, true);
    else
      mean_of_terms<1>("l1_loss", x, L1Term<T>{cptr<T>(x), cptr<T>(y)}, out, false);
  });
}

void l1_backward(const Tensor& grad_loss, const Tensor& x, const Tensor& y, const Tensor& mask, Tensor& gx) {
  dispatch_cuda_floating("l1_loss", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_grad("l1_loss", grad_loss, [&](auto* g) {
      using G = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
      // The forward's denominator is not kept, so the masked case sums the mask again (same tree, same value).
      Tensor coef;
      if (mask.defined()) {
        coef = Tensor::empty({}, DType::f64, x.device());
        deterministic_sum<1>(x.device(), mask.numel(), MaskSum<T>{cptr<T>(mask)},
                             GradOverMaskSum<G>{g, ptr<double>(coef)}, "l1_loss");
      }
      for_each_index(x.device(), x.numel(),
                     L1Grad<T, G>{g, coef.defined() ? cptr<double>(coef) : nullptr, static_cast<double>(x.numel()),
                                  cptr<T>(x), cptr<T>(y), mask.defined() ? cptr<T>(mask) : nullptr, ptr<T>(gx)},
                     "l1_loss backward");
    });
  });
}

void mse_forward(const Tensor& x, const Tensor& y, Tensor& out) {
  dispatch_cuda_floating("mse_loss", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    mean_of_terms<1>("mse_loss", x, SquaredDiffTerm<T>{cptr<T>(x), cptr<T>(y)}, out, false);
  });
}

void mse_backward(const Tensor& grad_loss, const Tensor& x, const Tensor& y, Tensor& gx) {
  dispatch_cuda_floating("mse_loss", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_grad("mse_loss", grad_loss, [&](auto* g) {
      using G = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
      for_each_index(x.device(), x.numel(),
                     MseGrad<T, G>{g, static_cast<double>(x.numel()), cptr<T>(x), cptr<T>(y), ptr<T>(gx)},
                     "mse_loss backward");
    });
  });
}

void bce_forward(const Tensor& logits, const Tensor& target, Tensor& out) {
  dispatch_cuda_floating("bce_with_logits", logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    mean_of_terms<1>("bce_with_logits", logits, BceTerm<T>{cptr<T>(logits), cptr<T>(target)}, out, false);
  });
}

void bce_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& target, Tensor& gx, Tensor& gt) {
  if (!gx.defined() && !gt.defined()) return;
  dispatch_cuda_floating("bce_with_logits", logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_grad("bce_with_logits", grad_loss, [&](auto* g) {
      using G = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
      for_each_index(logits.device(), logits.numel(),
                     BceGrad<T, G>{g, static_cast<double>(logits.numel()), cptr<T>(logits), cptr<T>(target),
                                   gx.defined() ? ptr<T>(gx) : nullptr, gt.defined() ? ptr<T>(gt) : nullptr},
                     "bce_with_logits backward");
    });
  });
}

}  // namespace asyndgan::kern::cuda
