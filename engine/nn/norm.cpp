// BatchNorm2d and InstanceNorm2d: construction and forward through the norm ops; forward_norm for callers that
// fuse an activation or give a destination.
#include "engine/nn/norm.h"
#include <typeinfo>
#include "engine/backend.h"
#include "engine/ops.h"

namespace asyndgan::nn {
namespace {

void check_features(const char* layer, int64_t num_features, const Tensor& x) {
  check_defined(layer, x, "x");
  if (x.dim() != 4 || x.size(1) != num_features)
    throw ShapeError(msg(layer, ": expected input [N, ", num_features, ", H, W], got ", shape_str(x.shape())));
}

}  // namespace

BatchNorm2d::BatchNorm2d(int64_t features, double eps_, double momentum_, bool affine, DType dtype)
    : num_features(features), eps(eps_), momentum(momentum_) {
  if (features <= 0) throw ValueError(msg("BatchNorm2d: num_features must be positive, got ", features));
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({features}, dtype));
    bias = register_parameter("bias", Tensor::zeros({features}, dtype));
  }
  running_mean = register_buffer("running_mean", Tensor::zeros({features}, dtype));
  running_var = register_buffer("running_var", Tensor::ones({features}, dtype));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
}

Tensor BatchNorm2d::forward(const Tensor& x) { return forward_fused(x, {}); }

Tensor BatchNorm2d::forward_fused(const Tensor& x, const NormActivation& act, const Tensor& out) {
  check_features("BatchNorm2d", num_features, x);
  if (is_training()) {
    if (num_batches_tracked.device().is_cpu())
      num_batches_tracked.data<int64_t>()[0] += 1;
    else  // on the device: no host round trip, and a CUDA graph replay counts too
      backend::cuda("BatchNorm2d").increment(num_batches_tracked);
  }
  return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps, act, out);
}

InstanceNorm2d::InstanceNorm2d(int64_t features, bool affine, double eps_, DType dtype)
    : num_features(features), eps(eps_) {
  if (features <= 0) throw ValueError(msg("InstanceNorm2d: num_features must be positive, got ", features));
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({features}, dtype));
    bias = register_parameter("bias", Tensor::zeros({features}, dtype));
  }
}

Tensor InstanceNorm2d::forward(const Tensor& x) { return forward_fused(x, {}); }

Tensor InstanceNorm2d::forward_fused(const Tensor& x, const NormActivation& act, const Tensor& out) {
  check_features("InstanceNorm2d", num_features, x);
  return instance_norm(x, weight, bias, eps, act, out);
}

std::optional<Tensor> forward_norm(Module& m, const Tensor& x, const NormActivation& act, const Tensor& out) {
  const std::type_info& t = typeid(m);
  if (t == typeid(BatchNorm2d)) return static_cast<BatchNorm2d&>(m).forward_fused(x, act, out);
  if (t == typeid(InstanceNorm2d)) return static_cast<InstanceNorm2d&>(m).forward_fused(x, act, out);
  return std::nullopt;
}

}  // namespace asyndgan::nn
