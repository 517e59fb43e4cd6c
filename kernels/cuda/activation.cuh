// The CUDA activations and dropout (engine/backend.h's unary, unary_backward, dropout, dropout_captured and
// set_philox_state entries).
// Plain C++ declarations: activation_ops.cpp, compiled by the host compiler, registers them.
#pragma once
#include "engine/backend.h"

namespace asyndgan::kern::cuda {

void unary(backend::Act act, double slope, const Tensor& x, Tensor& out);
void unary_backward(backend::Act act, double slope, const Tensor& grad, const Tensor& saved, Tensor& gin);
void dropout(PhiloxKey key, uint64_t first, double p, const Tensor& x, Tensor& mask, Tensor& out);
void dropout_captured(const Tensor& philox_state, uint64_t relative_first, double p, const Tensor& x, Tensor& mask,
                      Tensor& out);
void set_philox_state(Tensor& philox_state, uint64_t seed, uint64_t base);

}  // namespace asyndgan::kern::cuda
