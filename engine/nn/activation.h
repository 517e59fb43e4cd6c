// Parameter-free activation layers: ReLU, LeakyReLU, Tanh, Sigmoid.
#pragma once
#include <optional>
#include "engine/nn/module.h"
#include "engine/ops.h"

namespace asyndgan::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LeakyReLU"; }
  double negative_slope;
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sigmoid"; }
};

// The activation a normalization can fuse for this module: set for exactly ReLU, LeakyReLU, Tanh and Sigmoid (not
// a subclass, whose forward may differ), empty for anything else.
std::optional<NormActivation> fusable_activation(const Module& m);

}  // namespace asyndgan::nn
