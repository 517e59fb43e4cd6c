// The activation and dropout entries of the CUDA kernel table: tensors to the raw buffers and rows of
// kernels/cuda/activation.cu, and the Philox state's checks.
#include "engine/cuda/registry.h"
#include "engine/cuda/tensor_args.h"
#include "kernels/cuda/activation.cuh"

namespace asyndgan::backend {
namespace {

void unary(Act act, double slope, const Tensor& x, Tensor& out) {
  kern::cuda::unary(act, slope, x.dtype(), x.numel(), x.raw_data(), out.raw_data(), row_index(out, "activation"),
                    x.device().index);
}

void unary_backward(Act act, double slope, const Tensor& grad, const Tensor& saved, Tensor& gin) {
  kern::cuda::unary_backward(act, slope, saved.dtype(), saved.numel(), grad.raw_data(),
                             row_index(grad, "activation backward"), saved.raw_data(),
                             row_index(saved, "activation backward"), gin.raw_data(), saved.device().index);
}

void dropout(kern::PhiloxKey key, uint64_t first, double p, const Tensor& x, Tensor& mask, Tensor& out) {
  kern::cuda::dropout(key, first, p, x.dtype(), x.numel(), x.raw_data(), mask.raw_data(), out.raw_data(),
                      row_index(out, "dropout"), x.device().index);
}

void check_philox_state(const Tensor& state, const Tensor& on) {
  if (state.dtype() != DType::i64 || state.numel() != 2 || !state.is_contiguous() || !(state.device() == on.device()))
    throw ValueError(msg("dropout: the Philox state must be a contiguous i64 [2] tensor on ", on.device().str(),
                         ", got ", state.describe()));
}

void dropout_captured(const Tensor& philox_state, uint64_t relative_first, double p, const Tensor& x, Tensor& mask,
                      Tensor& out) {
  check_philox_state(philox_state, x);
  kern::cuda::dropout_captured(static_cast<const uint64_t*>(philox_state.raw_data()), relative_first, p, x.dtype(),
                               x.numel(), x.raw_data(), mask.raw_data(), out.raw_data(), row_index(out, "dropout"),
                               x.device().index);
}

void set_philox_state(Tensor& philox_state, uint64_t seed, uint64_t base) {
  check_philox_state(philox_state, philox_state);
  kern::cuda::set_philox_state(static_cast<uint64_t*>(philox_state.raw_data()), seed, base,
                               philox_state.device().index);
}

}  // namespace

void register_activation(CudaKernels& t) {
  t.unary = &unary;
  t.unary_backward = &unary_backward;
  t.dropout = &dropout;
  t.dropout_captured = &dropout_captured;
  t.set_philox_state = &set_philox_state;
}

}  // namespace asyndgan::backend
