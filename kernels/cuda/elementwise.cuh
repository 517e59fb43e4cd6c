// The CUDA elementwise kernels and the deterministic sum (engine/backend.h's elementwise and sum entries).
// Plain C++ declarations: elementwise_ops.cpp, compiled by the host compiler, registers them.
#pragma once
#include "engine/tensor.h"

namespace asyndgan::kern::cuda {

void axpby(double alpha, const Tensor& a, double beta, const Tensor& b, Tensor& out);
void affine(const Tensor& a, double scale, double shift, Tensor& out);
void mul(const Tensor& a, const Tensor& b, Tensor& out);
void axpy_(Tensor& a, double alpha, const Tensor& b);
void sum(const Tensor& x, double scale, Tensor& out);

}  // namespace asyndgan::kern::cuda
