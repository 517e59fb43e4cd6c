// The elementwise and sum entries of the CUDA kernel table: tensors to the raw buffers of
// kernels/cuda/elementwise.cu.
#include "engine/cuda/registry.h"
#include "kernels/cuda/elementwise.cuh"

namespace asyndgan::backend {
namespace {

void axpby(double alpha, const Tensor& a, double beta, const Tensor& b, Tensor& out) {
  kern::cuda::axpby(a.dtype(), out.numel(), alpha, a.raw_data(), beta, b.raw_data(), out.raw_data(),
                    out.device().index);
}

void affine(const Tensor& a, double scale, double shift, Tensor& out) {
  kern::cuda::affine(a.dtype(), out.numel(), a.raw_data(), scale, shift, out.raw_data(), out.device().index);
}

void mul(const Tensor& a, const Tensor& b, Tensor& out) {
  kern::cuda::mul(a.dtype(), out.numel(), a.raw_data(), b.raw_data(), out.raw_data(), out.device().index);
}

void axpy_(Tensor& a, double alpha, const Tensor& b) {
  kern::cuda::axpy_(a.dtype(), a.numel(), a.raw_data(), alpha, b.raw_data(), a.device().index);
}

void sum(const Tensor& x, double scale, Tensor& out) {
  kern::cuda::sum(x.dtype(), x.numel(), x.raw_data(), scale, out.dtype(), out.raw_data(), x.device().index);
}

}  // namespace

void register_elementwise(CudaKernels& t) {
  t.axpby = &axpby;
  t.affine = &affine;
  t.mul = &mul;
  t.axpy_ = &axpy_;
  t.sum = &sum;
}

}  // namespace asyndgan::backend
