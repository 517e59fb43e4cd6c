// BatchNorm2d and InstanceNorm2d layers; parameter and buffer names as PyTorch's, so
// state dicts load both ways.
#pragma once
#include <optional>
#include "engine/nn/module.h"
#include "engine/ops.h"

namespace asyndgan::nn {

// Batch statistics in training (updating running_mean / running_var), running statistics in eval.
// weight starts at 1, bias at 0, running_mean at 0, running_var at 1, as in PyTorch.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       DType dtype = DType::f32);
  Tensor forward(const Tensor& x) override;
  // forward followed by the activation `act` (one kernel each way on the GPU); Sequential calls it for a
  // BatchNorm2d directly followed by an activation module. With `out`, the result is written there (a destination
  // as ops.h describes: the U-Net writes into its concatenated buffer).
  Tensor forward_fused(const Tensor& x, const NormActivation& act, const Tensor& out = Tensor());
  std::string type_name() const override { return "BatchNorm2d"; }
  bool couples_batch() const override { return is_training(); }  // batch statistics in training

  Tensor weight, bias;  // undefined without affine
  Tensor running_mean, running_var;
  Tensor num_batches_tracked;  // 0-D i64, counted in training as PyTorch does (it never changes the math here)
  int64_t num_features;
  double eps, momentum;
};

// Per-sample statistics in both modes and no running statistics, as pix2pix's
// InstanceNorm2d(affine=False, track_running_stats=False); affine is off by default for that reason.
class InstanceNorm2d : public Module {
 public:
  explicit InstanceNorm2d(int64_t num_features, bool affine = false, double eps = 1e-5, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) override;
  Tensor forward_fused(const Tensor& x, const NormActivation& act, const Tensor& out = Tensor());  // as BatchNorm2d's
  std::string type_name() const override { return "InstanceNorm2d"; }

  Tensor weight, bias;  // undefined without affine
  int64_t num_features;
  double eps;
};

// forward_fused of a BatchNorm2d or InstanceNorm2d (exactly those types, as Sequential fuses them); nullopt for any
// other module.
std::optional<Tensor> forward_norm(Module& m, const Tensor& x, const NormActivation& act, const Tensor& out = Tensor());

}  // namespace asyndgan::nn
