// CUDA activations (one kernel per activation, math from kernels/common/activation_math.h) and dropout, whose
// mask comes from the same Philox words, mapped to the same elements, as kern::cpu::dropout_mask.
#include "kernels/common/half.h"
#include "kernels/cuda/act.cuh"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/map.cuh"

namespace asyndgan::kern::cuda {
namespace {

template <class T, backend::Act A> struct Forward {
  acc_t<T> slope;
  const T* x;
  T* out;
  __device__ void operator()(int64_t i) const { store(out, i, act_forward<A>(load(x, i), slope)); }
};

template <class T, backend::Act A> struct Backward {
  acc_t<T> slope;
  const T* g;
  const T* saved;
  T* gin;
  __device__ void operator()(int64_t i) const { store(gin, i, act_backward<A>(load(g, i), load(saved, i), slope)); }
};

// Index b is Philox block first + b, whose four words decide elements 4b .. 4b+3, exactly as on the CPU.
template <class T> struct Dropout {
  PhiloxKey key;
  uint64_t first;
  double p;
  acc_t<T> scale;  // the mask's kept value, already rounded to T
  int64_t n;
  const T* x;
  T* mask;
  T* out;
  __device__ void operator()(int64_t b) const {
    const Philox4 words = philox_block(key, first + static_cast<uint64_t>(b));
    for (int j = 0; j < 4; ++j) {
      const int64_t i = 4 * b + j;
      if (i >= n) break;
      const acc_t<T> m = dropout_keep(words.v[j], p) ? scale : acc_t<T>(0);
      store(mask, i, m);
      store(out, i, load(x, i) * m);
    }
  }
};

// 1/(1-p) rounded to the element type, as the CPU's static_cast<T>, then held in acc_t<T> exactly.
template <class T> acc_t<T> keep_scale(double p) {
  const double s = 1.0 / (1.0 - p);
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return bf16_to_float(float_to_bf16(static_cast<float>(s)));
  else return static_cast<T>(s);
}

}  // namespace

void unary(backend::Act act, double slope, const Tensor& x, Tensor& out) {
  dispatch_cuda_floating("activation", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_act(act, [&](auto a) {
      for_each_index(x.device(), x.numel(),
                     Forward<T, decltype(a)::value>{static_cast<acc_t<T>>(slope), cptr<T>(x), ptr<T>(out)},
                     "activation");
    });
  });
}

void unary_backward(backend::Act act, double slope, const Tensor& grad, const Tensor& saved, Tensor& gin) {
  dispatch_cuda_floating("activation backward", saved.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_act(act, [&](auto a) {
      for_each_index(saved.device(), saved.numel(),
                     Backward<T, decltype(a)::value>{static_cast<acc_t<T>>(slope), cptr<T>(grad), cptr<T>(saved),
                                                     ptr<T>(gin)},
                     "activation backward");
    });
  });
}

void dropout(PhiloxKey key, uint64_t first, double p, const Tensor& x, Tensor& mask, Tensor& out) {
  dispatch_cuda_floating("dropout", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = x.numel();
    for_each_index(x.device(), (n + 3) / 4,
                   Dropout<T>{key, first, p, keep_scale<T>(p), n, cptr<T>(x), ptr<T>(mask), ptr<T>(out)}, "dropout");
  });
}

}  // namespace asyndgan::kern::cuda
