// Activation layers forward to the ops of the same name.
#include "engine/nn/activation.h"
#include <typeinfo>

namespace asyndgan::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
Tensor Tanh::forward(const Tensor& x) { return asyndgan::tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

std::optional<NormActivation> fusable_activation(const Module& m) {
  using K = NormActivation::Kind;
  const std::type_info& t = typeid(m);
  if (t == typeid(ReLU)) return NormActivation{K::relu};
  if (t == typeid(LeakyReLU)) return NormActivation{K::leaky_relu, static_cast<const LeakyReLU&>(m).negative_slope};
  if (t == typeid(Tanh)) return NormActivation{K::tanh};
  if (t == typeid(Sigmoid)) return NormActivation{K::sigmoid};
  return std::nullopt;
}

}  // namespace asyndgan::nn
