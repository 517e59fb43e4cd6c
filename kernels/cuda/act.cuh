// An activation chosen at run time (kern::Act, kernels/common/descriptors.h) as a compile-time case of the shared
// per-element math (kernels/common/activation_math.h), for the standalone activation kernels and any kernel that
// fuses one.
#pragma once
#include <type_traits>
#include "kernels/common/activation_math.h"
#include "kernels/common/descriptors.h"

namespace asyndgan::kern::cuda {

template <Act A> using ActTag = std::integral_constant<Act, A>;

// Calls f(ActTag<act>{}) so the kernel is instantiated per activation, with no branch per element.
template <class F> decltype(auto) dispatch_act(Act act, F&& f) {
  switch (act) {
    case Act::relu: return f(ActTag<Act::relu>{});
    case Act::leaky_relu: return f(ActTag<Act::leaky_relu>{});
    case Act::tanh: return f(ActTag<Act::tanh>{});
    case Act::sigmoid: return f(ActTag<Act::sigmoid>{});
    case Act::none: break;
  }
  return f(ActTag<Act::none>{});
}

template <Act A, class V> __device__ __forceinline__ V act_forward(V x, V slope) {
  if constexpr (A == Act::relu) return relu_fwd(x);
  else if constexpr (A == Act::leaky_relu) return leaky_relu_fwd(x, slope);
  else if constexpr (A == Act::tanh) return tanh_fwd(x);
  else if constexpr (A == Act::sigmoid) return sigmoid_fwd(x);
  else return x;
}

// saved: the forward output for relu, tanh and sigmoid; the input for leaky_relu (as on the CPU).
template <Act A, class V> __device__ __forceinline__ V act_backward(V g, V saved, V slope) {
  if constexpr (A == Act::relu) return relu_bwd(g, saved);
  else if constexpr (A == Act::leaky_relu) return leaky_relu_bwd(g, saved, slope);
  else if constexpr (A == Act::tanh) return tanh_bwd(g, saved);
  else if constexpr (A == Act::sigmoid) return sigmoid_bwd(g, saved);
  else return g;
}

}  // namespace asyndgan::kern::cuda
