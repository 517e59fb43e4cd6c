// Device and precision placement of the run's networks.
#include "dist/placement.h"
#include "engine/nn/conv.h"

namespace asyndgan::dist {

void place_model(nn::Module& net, const TrainOptions& options) {
  net.to(options.device);
  if (options.numerics.precision == Precision::bf16) nn::set_compute_dtype(net, DType::bf16);
}

bool use_cuda_graphs(const TrainOptions& o) {
  return o.cuda_graphs && o.device.is_cuda() && o.sampling == data::Sampling::balance;
}

void stage(Tensor& dst, const Tensor& src, Device device) {
  if (device.is_cpu())
    dst = src;
  else if (dst.defined() && dst.shape() == src.shape() && dst.dtype() == src.dtype())
    dst.copy_(src);
  else
    dst = src.to(device);
}

Tensor to_loss_dtype(const Tensor& t) { return t.to(DType::f32); }

}  // namespace asyndgan::dist
