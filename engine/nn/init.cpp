// Random fills and the pix2pix initializer.
#include "engine/nn/init.h"
#include "engine/autograd.h"
#include "engine/nn/conv.h"
#include "engine/nn/norm.h"

namespace asyndgan::nn {

void normal_(Tensor& t, Generator& gen, double mean, double stddev) {
  NoGradGuard ng;
  t.copy_(Tensor::randn(t.shape(), gen, DType::f64, mean, stddev));
}

void uniform_(Tensor& t, Generator& gen, double low, double high) {
  NoGradGuard ng;
  t.copy_(Tensor::rand(t.shape(), gen, DType::f64, low, high));
}

namespace {
void init_affine(Tensor& weight, Tensor& bias, Generator& gen, double weight_mean, double gain) {
  if (weight.defined()) normal_(weight, gen, weight_mean, gain);
  if (bias.defined()) bias.fill_(0.0);
}
}  // namespace

void init_pix2pix(Module& root, Generator& gen, double gain) {
  for (auto& [name, m] : root.named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) init_affine(c->weight, c->bias, gen, 0.0, gain);
    else if (auto* t = dynamic_cast<ConvTranspose2d*>(m)) init_affine(t->weight, t->bias, gen, 0.0, gain);
    else if (auto* b = dynamic_cast<BatchNorm2d*>(m)) init_affine(b->weight, b->bias, gen, 1.0, gain);
    else if (auto* i = dynamic_cast<InstanceNorm2d*>(m)) init_affine(i->weight, i->bias, gen, 1.0, gain);
  }
}

}  // namespace asyndgan::nn
