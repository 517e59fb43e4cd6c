// CUDA activations (one kernel per activation, math from kernels/common/activation_math.h) and dropout, whose
// mask comes from the same Philox words, mapped to the same elements, as kern::cpu::dropout_mask; inside a CUDA
// graph capture the Philox seed and base offset are read from the device (engine/cuda_graph.h). Outputs, and the
// gradient and saved tensor of a backward, may have rows (a range of the U-Net's concatenated buffer).
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
  RowIndex o;
  __device__ void operator()(int64_t i) const { store(out, o(i), act_forward<A>(load(x, i), slope)); }
};

template <class T, backend::Act A> struct Backward {
  acc_t<T> slope;
  const T* g;
  const T* saved;
  T* gin;
  RowIndex gi, si;
  __device__ void operator()(int64_t i) const {
    store(gin, i, act_backward<A>(load(g, gi(i)), load(saved, si(i)), slope));
  }
};

// 1/(1-p) rounded to the element type, as the CPU's static_cast<T>, then held in acc_t<T> exactly.
template <class T> acc_t<T> keep_scale(double p) {
  const double s = 1.0 / (1.0 - p);
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return bf16_to_float(float_to_bf16(static_cast<float>(s)));
  else return static_cast<T>(s);
}

// Index b is Philox block first + b, whose four words decide elements 4b .. 4b+3, exactly as on the CPU.
// Captured (state != nullptr): the key and the base block come from the device, state = [seed, base], and the
// draw starts at base + first, so a CUDA graph's replays each draw where an eager step would have.
template <class T> struct Dropout {
  PhiloxKey key;
  uint64_t first;
  const uint64_t* state;
  double p;
  acc_t<T> scale;  // the mask's kept value, already rounded to T
  int64_t n;
  const T* x;
  T* mask;
  T* out;
  RowIndex o;
  __device__ void operator()(int64_t b) const {
    PhiloxKey k = key;
    uint64_t start = first;
    if (state) {
      k = philox_key(state[0]);
      start += state[1];
    }
    const Philox4 words = philox_block(k, start + static_cast<uint64_t>(b));
    for (int j = 0; j < 4; ++j) {
      const int64_t i = 4 * b + j;
      if (i >= n) break;
      const acc_t<T> m = dropout_keep(words.v[j], p) ? scale : acc_t<T>(0);
      store(mask, i, m);
      store(out, o(i), load(x, i) * m);
    }
  }
};

__global__ void set_philox_state_kernel(uint64_t* state, uint64_t seed, uint64_t base) {
  state[0] = seed;
  state[1] = base;
}

void launch_dropout(PhiloxKey key, uint64_t first, const uint64_t* state, double p, const Tensor& x, Tensor& mask,
                    Tensor& out) {
  dispatch_cuda_floating("dropout", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = x.numel();
    for_each_index(x.device(), (n + 3) / 4,
                   Dropout<T>{key, first, state, p, keep_scale<T>(p), n, cptr<T>(x), ptr<T>(mask), ptr<T>(out),
                              row_index(out, "dropout")},
                   "dropout");
  });
}

void check_philox_state(const Tensor& state, const Tensor& on) {
  if (state.dtype() != DType::i64 || state.numel() != 2 || !state.is_contiguous() || !(state.device() == on.device()))
    throw ValueError(msg("dropout: the Philox state must be a contiguous i64 [2] tensor on ", on.device().str(),
                         ", got ", state.describe()));
}

}  // namespace

void unary(backend::Act act, double slope, const Tensor& x, Tensor& out) {
  dispatch_cuda_floating("activation", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_act(act, [&](auto a) {
      for_each_index(x.device(), x.numel(),
                     Forward<T, decltype(a)::value>{static_cast<acc_t<T>>(slope), cptr<T>(x), ptr<T>(out),
                                                    row_index(out, "activation")},
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
                                                     ptr<T>(gin), row_index(grad, "activation backward"),
                                                     row_index(saved, "activation backward")},
                     "activation backward");
    });
  });
}

void dropout(PhiloxKey key, uint64_t first, double p, const Tensor& x, Tensor& mask, Tensor& out) {
  launch_dropout(key, first, nullptr, p, x, mask, out);
}

void dropout_captured(const Tensor& philox_state, uint64_t relative_first, double p, const Tensor& x, Tensor& mask,
                      Tensor& out) {
  check_philox_state(philox_state, x);
  launch_dropout(PhiloxKey{0, 0}, relative_first, static_cast<const uint64_t*>(philox_state.raw_data()), p, x, mask,
                 out);
}

void set_philox_state(Tensor& philox_state, uint64_t seed, uint64_t base) {
  check_philox_state(philox_state, philox_state);
  set_philox_state_kernel<<<1, 1, 0, stream(philox_state.device().index)>>>(
      static_cast<uint64_t*>(philox_state.raw_data()), seed, base);
  check_launch("set_philox_state");
}

}  // namespace asyndgan::kern::cuda
