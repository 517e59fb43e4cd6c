// Sequential: construction from a list, forward in order, bounds-checked indexing.
#include "engine/nn/sequential.h"

namespace asyndgan::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> layers) {
  for (const auto& layer : layers) push_back(layer);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& layer : layers_) h = layer->forward(h);
  return h;
}

Module& Sequential::operator[](size_t i) const {
  if (i >= layers_.size()) throw ValueError(msg("Sequential: index ", i, " out of range for ", layers_.size(), " layers"));
  return *layers_[i];
}

}  // namespace asyndgan::nn
