// The norm entries of the CUDA kernel table: tensors to the raw buffers and scratch of kernels/cuda/norm.cu.
#include "engine/cuda/registry.h"
#include "engine/cuda/tensor_args.h"
#include "kernels/cuda/norm.cuh"

namespace asyndgan::backend {
namespace {

using kern::cuda::NormBackwardBuffers;
using kern::cuda::NormForwardBuffers;

// Elements between samples of out or grad (dense past dim 0: engine/rows.h; the engine checked).
int64_t sample_stride(const Tensor& t, const NormGeometry& g) {
  const std::optional<Rows> r = rows_of(t);
  if (!r) throw ValueError(msg("normalization on CUDA: expected a tensor contiguous past dim 0, got ", t.describe()));
  return r->dense() ? g.c * g.size : r->stride;
}

// Scratch for the partial sums, from the stream-ordered cache: freed here, reused only by later work on the stream.
Tensor workspace(const NormGeometry& g, const Tensor& x) {
  const size_t doubles = kern::cuda::norm_workspace_doubles(g, x.device().index);
  return Tensor::empty({static_cast<int64_t>(doubles)}, DType::f64, x.device());
}

void forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean, Tensor& running_var,
             const NormConfig& cfg, Tensor& out, Tensor& save_mean, Tensor& save_invstd) {
  const NormGeometry g = norm_geometry(x, cfg.per_channel);
  Tensor ws = workspace(g, x);
  const NormForwardBuffers b{x.raw_data(),         data_or_null(weight),      data_or_null(bias),
                             data_or_null(running_mean), data_or_null(running_var), out.raw_data(),
                             save_mean.raw_data(), save_invstd.raw_data(),   sample_stride(out, g)};
  kern::cuda::norm_forward(g, x.dtype(), cfg, b, static_cast<double*>(ws.raw_data()), x.device().index);
}

void backward(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& save_mean,
              const Tensor& save_invstd, const NormConfig& cfg, Tensor& gx, Tensor& gweight, Tensor& gbias) {
  const NormGeometry g = norm_geometry(x, cfg.per_channel);
  Tensor ws = workspace(g, x);
  const NormBackwardBuffers b{grad.raw_data(),     x.raw_data(),          data_or_null(weight),
                              data_or_null(bias),  save_mean.raw_data(),  save_invstd.raw_data(),
                              gx.raw_data(),       data_or_null(gweight), data_or_null(gbias),
                              sample_stride(grad, g)};
  kern::cuda::norm_backward(g, x.dtype(), cfg, b, static_cast<double*>(ws.raw_data()), x.device().index);
}

}  // namespace

void register_norm(CudaKernels& t) {
  t.norm_forward = forward;
  t.norm_backward = backward;
}

}  // namespace asyndgan::backend
