// Sequential container: children named "0", "1", ... and applied in order, as torch.nn.Sequential.
#pragma once
#include <memory>
#include "engine/nn/module.h"

namespace asyndgan::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> layers);
  // Appends a layer under the next index; returns it for chaining setup.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> layer) {
    layers_.push_back(register_module(std::to_string(layers_.size()), layer));
    return layer;
  }
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return layers_.size(); }
  Module& operator[](size_t i) const;

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace asyndgan::nn
