// Weight initialization: in-place random fills and pix2pix's init_weights('normal') over a whole network.
#pragma once
#include "engine/nn/module.h"
#include "engine/rng.h"

namespace asyndgan::nn {

// In-place fills from `gen`'s Philox stream (not recorded by autograd); any floating dtype.
void normal_(Tensor& t, Generator& gen, double mean, double stddev);
void uniform_(Tensor& t, Generator& gen, double low, double high);

// pix2pix's init_weights(net, 'normal', gain): every Conv2d / ConvTranspose2d weight ~ N(0, gain) and bias
// = 0; every norm layer's scale ~ N(1, gain) and shift = 0. Modules are visited in named_modules() order,
// so the draws are reproducible from the generator's state. (pix2pix only touches BatchNorm2d; an
// InstanceNorm2d has no affine parameters there, so covering it too changes nothing for pix2pix nets.)
void init_pix2pix(Module& m, Generator& gen, double gain = 0.02);

}  // namespace asyndgan::nn
