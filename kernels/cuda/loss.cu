// CUDA losses: forward terms summed by the deterministic reduction (kernels/cuda/reduce.cuh) into a 0-D device
// result; backward kernels read dL/dloss from device memory, so neither direction waits on the host.
#include <type_traits>
#include "kernels/common/elementwise_math.h"
#include "kernels/common/loss_math.h"
#include "kernels/cuda/loss.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/scratch.h"

namespace asyndgan::kern::cuda {
namespace {

// dL/dloss is the loss's own dtype: f32 (for f32 and bf16 inputs) or f64.
template <class F> void dispatch_grad(const char* op, DType grad_dt, const void* g, F&& f) {
  if (grad_dt == DType::f32) return f(cptr<float>(g));
  if (grad_dt == DType::f64) return f(cptr<double>(g));
  throw DTypeError(std::string(op) + ": dL/dloss must be f32 or f64, got " + dtype_name(grad_dt));
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

// Runs reduction K over n terms and writes total[0] / n (or / max(total[1], 1) when masked) to out.
template <int K, class Term> void mean_of_terms(const char* op, int64_t n, Term term, DType out_dt, void* out,
                                                bool masked, int device) {
  with_scalar_out(op, out_dt, out, [&](auto* o) {
    using Out = std::remove_pointer_t<decltype(o)>;
    deterministic_sum<K>(device, n, term, WriteScaled<Out>{o, 1.0, static_cast<double>(n), masked}, op);
  });
}

}  // namespace

void l1_forward(DType dt, int64_t n, const void* x, const void* y, const void* mask, DType out_dt, void* out,
                int device) {
  dispatch_cuda_floating("l1_loss", dt, [&](auto tag) {
    using T = decltype(tag);
    if (mask)
      mean_of_terms<2>("l1_loss", n, MaskedL1Term<T>{cptr<T>(x), cptr<T>(y), cptr<T>(mask)}, out_dt, out, true,
                       device);
    else
      mean_of_terms<1>("l1_loss", n, L1Term<T>{cptr<T>(x), cptr<T>(y)}, out_dt, out, false, device);
  });
}

void l1_backward(DType dt, int64_t n, DType grad_dt, const void* grad_loss, const void* x, const void* y,
                 const void* mask, void* gx, int device) {
  dispatch_cuda_floating("l1_loss", dt, [&](auto tag) {
    using T = decltype(tag);
    dispatch_grad("l1_loss", grad_dt, grad_loss, [&](auto* g) {
      using G = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
      // The forward's denominator is not kept, so the masked case sums the mask again (same tree, same value).
      const Scratch coef(mask ? sizeof(double) : 0, device);
      if (mask)
        deterministic_sum<1>(device, n, MaskSum<T>{cptr<T>(mask)}, GradOverMaskSum<G>{g, ptr<double>(coef.ptr)},
                             "l1_loss");
      for_each_index(device, n,
                     L1Grad<T, G>{g, cptr<double>(coef.ptr), static_cast<double>(n), cptr<T>(x), cptr<T>(y),
                                  cptr<T>(mask), ptr<T>(gx)},
                     "l1_loss backward");
    });
  });
}

void mse_forward(DType dt, int64_t n, const void* x, const void* y, DType out_dt, void* out, int device) {
  dispatch_cuda_floating("mse_loss", dt, [&](auto tag) {
    using T = decltype(tag);
    mean_of_terms<1>("mse_loss", n, SquaredDiffTerm<T>{cptr<T>(x), cptr<T>(y)}, out_dt, out, false, device);
  });
}

void mse_backward(DType dt, int64_t n, DType grad_dt, const void* grad_loss, const void* x, const void* y, void* gx,
                  int device) {
  dispatch_cuda_floating("mse_loss", dt, [&](auto tag) {
    using T = decltype(tag);
    dispatch_grad("mse_loss", grad_dt, grad_loss, [&](auto* g) {
      using G = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
      for_each_index(device, n, MseGrad<T, G>{g, static_cast<double>(n), cptr<T>(x), cptr<T>(y), ptr<T>(gx)},
                     "mse_loss backward");
    });
  });
}

void bce_forward(DType dt, int64_t n, const void* logits, const void* target, DType out_dt, void* out, int device) {
  dispatch_cuda_floating("bce_with_logits", dt, [&](auto tag) {
    using T = decltype(tag);
    mean_of_terms<1>("bce_with_logits", n, BceTerm<T>{cptr<T>(logits), cptr<T>(target)}, out_dt, out, false, device);
  });
}

void bce_backward(DType dt, int64_t n, DType grad_dt, const void* grad_loss, const void* logits, const void* target,
                  void* gx, void* gt, int device) {
  if (!gx && !gt) return;
  dispatch_cuda_floating("bce_with_logits", dt, [&](auto tag) {
    using T = decltype(tag);
    dispatch_grad("bce_with_logits", grad_dt, grad_loss, [&](auto* g) {
      using G = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
      for_each_index(device, n,
                     BceGrad<T, G>{g, static_cast<double>(n), cptr<T>(logits), cptr<T>(target), ptr<T>(gx), ptr<T>(gt)},
                     "bce_with_logits backward");
    });
  });
}

}  // namespace asyndgan::kern::cuda
