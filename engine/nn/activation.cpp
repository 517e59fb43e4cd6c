// Activation layers forward to the ops of the same name.
#include "engine/nn/activation.h"
#include "engine/ops.h"

namespace asyndgan::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
Tensor Tanh::forward(const Tensor& x) { return asyndgan::tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

}  // namespace asyndgan::nn
