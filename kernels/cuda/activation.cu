// CUDA activations (one kernel per activation, math from kernels/common/activation_math.h) and dropout, whose
// mask comes from the same Philox words, mapped to the same elements, as kern::cpu::dropout_mask; inside a CUDA
// graph capture the Philox seed and base offset are read from the device (engine/cuda_graph.h). Outputs, and the
// gradient and saved tensor of a backward, may have rows (a range of the U-Net's concatenated buffer).
#include "base/half.h"
#include "kernels/cuda/act.cuh"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/map.cuh"

namespace asyndgan::kern::cuda {
namespace {

template <class T, Act A> struct Forward {
  acc_t<T> slope;
  const T* x;
  T* out;
  RowIndex o;
  __device__ void operator()(int64_t i) const { store(out, o(i), act_forward<A>(load(x, i), slope)); }
};

template <class T, Act A> struct Backward {
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

void launch_dropout(PhiloxKey key, uint64_t first, const uint64_t* state, double p, DType dt, int64_t n,
                    const void* x, void* mask, void* out, RowIndex o, int device) {
  dispatch_cuda_floating("dropout", dt, [&](auto tag) {
    using T = decltype(tag);
    for_each_index(device, (n + 3) / 4,
                   Dropout<T>{key, first, state, p, keep_scale<T>(p), n, cptr<T>(x), ptr<T>(mask), ptr<T>(out), o},
                   "dropout");
  });
}

}  // namespace

void unary(Act act, double slope, DType dt, int64_t n, const void* x, void* out, RowIndex out_rows, int device) {
  dispatch_cuda_floating("activation", dt, [&](auto tag) {
    using T = decltype(tag);
    dispatch_act(act, [&](auto a) {
      for_each_index(device, n,
                     Forward<T, decltype(a)::value>{static_cast<acc_t<T>>(slope), cptr<T>(x), ptr<T>(out), out_rows},
                     "activation");
    });
  });
}

void unary_backward(Act act, double slope, DType dt, int64_t n, const void* grad, RowIndex grad_rows,
                    const void* saved, RowIndex saved_rows, void* gin, int device) {
  dispatch_cuda_floating("activation backward", dt, [&](auto tag) {
    using T = decltype(tag);
    dispatch_act(act, [&](auto a) {
      for_each_index(device, n,
                     Backward<T, decltype(a)::value>{static_cast<acc_t<T>>(slope), cptr<T>(grad), cptr<T>(saved),
                                                     ptr<T>(gin), grad_rows, saved_rows},
                     "activation backward");
    });
  });
}

void dropout(PhiloxKey key, uint64_t first, double p, DType dt, int64_t n, const void* x, void* mask, void* out,
             RowIndex out_rows, int device) {
  launch_dropout(key, first, nullptr, p, dt, n, x, mask, out, out_rows, device);
}

void dropout_captured(const uint64_t* philox_state, uint64_t relative_first, double p, DType dt, int64_t n,
                      const void* x, void* mask, void* out, RowIndex out_rows, int device) {
  launch_dropout(PhiloxKey{0, 0}, relative_first, philox_state, p, dt, n, x, mask, out, out_rows, device);
}

void set_philox_state(uint64_t* philox_state, uint64_t seed, uint64_t base, int device) {
  set_philox_state_kernel<<<1, 1, 0, stream(device)>>>(philox_state, seed, base);
  check_launch("set_philox_state");
}

}  // namespace asyndgan::kern::cuda
