// Sequential: construction from a list, forward in order (a normalization and the activation module right after
// it run as one fused op), bounds-checked indexing.
#include "engine/nn/sequential.h"
#include "engine/nn/activation.h"
#include "engine/nn/norm.h"

namespace asyndgan::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> layers) {
  for (const auto& layer : layers) push_back(layer);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Module& layer = *layers_[i];
    // The pair computes exactly what the two modules would (the same ops on the CPU), so the activation module
    // is skipped, not removed: state-dict keys and indices stay PyTorch's.
    if (i + 1 < layers_.size()) {
      if (std::optional<NormActivation> act = fusable_activation(*layers_[i + 1])) {
        if (std::optional<Tensor> y = forward_norm(layer, h, *act)) {
          h = *y;
          ++i;
          continue;
        }
      }
    }
    h = layer.forward(h);
  }
  return h;
}

Module& Sequential::operator[](size_t i) const {
  if (i >= layers_.size()) throw ValueError(msg("Sequential: index ", i, " out of range for ", layers_.size(), " layers"));
  return *layers_[i];
}

}  // namespace asyndgan::nn
