// The adam entry of the CUDA kernel table: the engine's slots to raw buffers, one launch per dtype present.
#include "engine/tensor.h"
#include "kernels/cuda/adam.cuh"
#include "kernels/cuda/registry.h"

namespace asyndgan::kern::cuda {
namespace {

void adam(const std::vector<backend::AdamSlot>& slots) {
  if (slots.empty()) return;
  const Device device = slots.front().param.device();
  std::vector<AdamTensor> by_dtype[2];  // f32, f64
  for (const backend::AdamSlot& s : slots) {
    const DType dt = s.param.dtype();
    for (const Tensor* t : {&s.param, &s.grad, &s.exp_avg, &s.exp_avg_sq}) {
      if (!(t->device() == device) || t->dtype() != dt || t->numel() != s.param.numel() || !t->is_contiguous())
        throw ValueError(msg("adam: every tensor of a slot must be contiguous, on ", device.str(), " and of the "
                             "parameter's dtype and size; got ", t->describe(), " for parameter ", s.param.describe()));
    }
    if (dt != DType::f32 && dt != DType::f64)
      throw DTypeError(msg("adam: CUDA kernels exist for f32 and f64 parameters, got ", s.param.describe()));
    by_dtype[dt == DType::f64].push_back({const_cast<void*>(s.param.raw_data()), s.grad.raw_data(),
                                          const_cast<void*>(s.exp_avg.raw_data()),
                                          const_cast<void*>(s.exp_avg_sq.raw_data()), s.param.numel(),
                                          s.weight_decay, s.one_minus_beta1, s.beta2, s.one_minus_beta2,
                                          s.bias_correction2_sqrt, s.eps, s.neg_step_size});
  }
  if (!by_dtype[0].empty()) adam_multi(DType::f32, by_dtype[0], device.index);
  if (!by_dtype[1].empty()) adam_multi(DType::f64, by_dtype[1], device.index);
}

}  // namespace

void register_adam(backend::CudaKernels& t) { t.adam = adam; }

}  // namespace asyndgan::kern::cuda
