// The adam entry of the CUDA kernel table: the engine's slots to raw buffers, one launch pair per dtype present.
#include "engine/cuda/registry.h"
#include "kernels/cuda/adam.cuh"

namespace asyndgan::backend {
namespace {

using kern::cuda::AdamShared;
using kern::cuda::AdamTensor;

void check_counter(const Tensor& t, DType dt, Device device, const char* what) {
  if (t.numel() != 1 || t.dtype() != dt || !(t.device() == device))
    throw ValueError(msg("adam: ", what, " must be a one-element ", dtype_name(dt), " tensor on ", device.str(),
                         ", got ", t.describe()));
}

void adam(const AdamHyper& h, const std::vector<AdamSlot>& slots) {
  if (slots.empty()) return;
  const Device device = slots.front().param.device();
  check_counter(h.lr, DType::f64, device, "the learning rate");
  if (h.calls.defined()) check_counter(h.calls, DType::i64, device, "the call counter");
  std::vector<AdamTensor> by_dtype[2];  // f32, f64
  for (const AdamSlot& s : slots) {
    const DType dt = s.param.dtype();
    for (const Tensor* t : {&s.param, &s.grad, &s.exp_avg, &s.exp_avg_sq}) {
      if (!(t->device() == device) || t->dtype() != dt || t->numel() != s.param.numel() || !t->is_contiguous())
        throw ValueError(msg("adam: every tensor of a slot must be contiguous, on ", device.str(), " and of the "
                             "parameter's dtype and size; got ", t->describe(), " for parameter ", s.param.describe()));
    }
    check_counter(s.step, DType::i64, device, "a step counter");
    if (dt != DType::f32 && dt != DType::f64)
      throw DTypeError(msg("adam: CUDA kernels exist for f32 and f64 parameters, got ", s.param.describe()));
    by_dtype[dt == DType::f64].push_back({const_cast<void*>(s.param.raw_data()), s.grad.raw_data(),
                                          const_cast<void*>(s.exp_avg.raw_data()),
                                          const_cast<void*>(s.exp_avg_sq.raw_data()), s.param.numel(),
                                          static_cast<int64_t*>(const_cast<void*>(s.step.raw_data()))});
  }
  AdamShared shared{h.beta1, h.beta2, 1.0 - h.beta1, 1.0 - h.beta2, h.eps, h.weight_decay,
                    static_cast<const double*>(h.lr.raw_data()),
                    h.calls.defined() ? static_cast<int64_t*>(const_cast<void*>(h.calls.raw_data())) : nullptr};
  for (int k = 0; k < 2; ++k) {
    if (by_dtype[k].empty()) continue;
    kern::cuda::adam_multi(k ? DType::f64 : DType::f32, shared, by_dtype[k], device.index);
    shared.calls = nullptr;  // counted once per step
  }
}

}  // namespace

void register_adam(CudaKernels& t) { t.adam = adam; }

}  // namespace asyndgan::backend
