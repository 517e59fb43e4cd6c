// Dropout: argument check and forward through the dropout op with the layer's generator.
#include "engine/nn/dropout.h"
#include "engine/ops.h"

namespace asyndgan::nn {

Dropout::Dropout(double p_, Generator* gen) : p(p_), gen_(gen ? gen : &default_generator()) {
  if (!(p >= 0.0 && p < 1.0)) throw ValueError(msg("Dropout: p must be in [0, 1), got ", p));
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), *gen_); }
Tensor Dropout::forward_into(const Tensor& x, const Tensor& out) { return dropout(x, p, is_training(), *gen_, out); }

}  // namespace asyndgan::nn
