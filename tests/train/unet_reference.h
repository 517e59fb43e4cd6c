// The U-Net forward as it was before the skip concat went in place (each level's LeakyReLU its own op, every
// layer in order, a cat that copies): the reference for test_unet_inplace.cpp and bench/unet_inplace_bench.cpp.
#pragma once
#include "engine/nn/conv.h"
#include "engine/nn/sequential.h"
#include "engine/ops.h"
#include "models/unet_generator.h"

namespace asyndgan::test {

// A UnetSkipBlock's layers (its one child, "model").
inline nn::Sequential& unet_layers(nn::Module& block) {
  return static_cast<nn::Sequential&>(*block.named_children().at(0).second);
}

// block: a UnetSkipBlock (the UnetGenerator's child "model" for the whole network).
inline Tensor unet_reference_forward(nn::Module& block, const Tensor& x) {
  nn::Sequential& seq = unet_layers(block);
  auto run = [&](size_t from, Tensor h) {
    for (size_t i = from; i < seq.size(); ++i)
      h = dynamic_cast<models::UnetSkipBlock*>(&seq[i]) ? unet_reference_forward(seq[i], h) : seq[i].forward(h);
    return h;
  };
  if (dynamic_cast<nn::Conv2d*>(&seq[0])) return run(0, x);  // the outermost level
  Tensor skip = seq[0].forward(x);
  return cat({skip, run(1, skip)}, 1);
}

}  // namespace asyndgan::test
