// The network factory: config validation and dispatch to the network classes.
#include "models/factory.h"
#include "base/error.h"
#include "engine/nn/dropout.h"
#include "models/norm_kind.h"
#include "models/patch_discriminator.h"
#include "models/resnet_generator.h"
#include "models/unet_generator.h"

namespace asyndgan::models {
namespace {

void check_positive(const char* key, int64_t value) {
  if (value <= 0) throw ValueError(msg(key, ": must be positive, got ", value));
}

}  // namespace

int64_t unet_num_downs(int64_t image_size) {
  if (image_size < 32 || (image_size & (image_size - 1)) != 0)
    throw ValueError(msg("generator.image_size: the U-Net needs a power of two of at least 32 (its depth is log2 of "
                         "the size), got ", image_size));
  int64_t downs = 0;
  while ((int64_t{1} << downs) < image_size) ++downs;
  return downs;
}

std::shared_ptr<nn::Module> build_generator(const GeneratorConfig& c) {
  check_positive("generator.in_channels", c.in_channels);
  check_positive("generator.out_channels", c.out_channels);
  check_positive("generator.ngf", c.ngf);
  const NormKind norm = parse_norm(c.norm, "generator.norm");
  if (c.kind == "unet")
    return std::make_shared<UnetGenerator>(c.in_channels, c.out_channels, unet_num_downs(c.image_size), c.ngf, norm,
                                           c.dropout);
  if (c.kind == "resnet_9blocks" || c.kind == "resnet_6blocks") {
    if (c.image_size < 8 || c.image_size % 4 != 0)
      throw ValueError(msg("generator.image_size: the ResNet generator needs a multiple of 4 of at least 8, got ",
                           c.image_size));
    return std::make_shared<ResnetGenerator>(c.in_channels, c.out_channels, c.ngf, norm, c.dropout,
                                             c.kind == "resnet_9blocks" ? 9 : 6);
  }
  throw ValueError(msg("generator.kind: unknown generator '", c.kind,
                       "'; use \"unet\", \"resnet_9blocks\" or \"resnet_6blocks\""));
}

std::shared_ptr<nn::Module> build_discriminator(const DiscriminatorConfig& c) {
  if (c.kind != "patchgan")
    throw ValueError(msg("discriminator.kind: unknown discriminator '", c.kind, "'; use \"patchgan\""));
  check_positive("discriminator.in_channels", c.in_channels);
  check_positive("discriminator.ndf", c.ndf);
  check_positive("discriminator.n_layers", c.n_layers);
  return std::make_shared<PatchDiscriminator>(c.in_channels, c.ndf, c.n_layers,
                                              parse_norm(c.norm, "discriminator.norm"));
}

void set_dropout_generator(nn::Module& net, Generator& gen) {
  for (auto& [name, m] : net.named_modules())
    if (auto* d = dynamic_cast<nn::Dropout*>(m)) d->set_generator(gen);
}

}  // namespace asyndgan::models
