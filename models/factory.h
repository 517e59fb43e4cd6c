// Builds the generator and discriminator a run configures, by name, as pix2pix's define_G / define_D do.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include "engine/nn/module.h"
#include "engine/rng.h"

namespace asyndgan::models {

struct GeneratorConfig {
  std::string kind = "unet";  // "unet" (depth from image_size), "resnet_9blocks", "resnet_6blocks"
  int64_t in_channels = 5;    // condition channels
  int64_t out_channels = 4;   // one per modality
  int64_t ngf = 64;
  std::string norm = "batch";  // "batch" or "instance"
  bool dropout = true;         // pix2pix's use_dropout (0.5)
  int64_t image_size = 256;    // unet: a power of two >= 32, num_downs = log2(image_size); resnet: a multiple of 4
};

struct DiscriminatorConfig {
  std::string kind = "patchgan";  // pix2pix's NLayerDiscriminator ("basic" at n_layers 3: the 70x70 PatchGAN)
  int64_t in_channels = 6;        // condition channels + image channels
  int64_t ndf = 64;
  int64_t n_layers = 3;
  std::string norm = "batch";
};

// U-Net depth for an image side: log2(size); ValueError unless size is a power of two >= 32.
int64_t unet_num_downs(int64_t image_size);

// Fresh networks with PyTorch's default initialization; call nn::init_pix2pix for pix2pix's N(0, 0.02).
// A bad kind, norm, size or channel count is a ValueError naming the config key and the allowed values.
std::shared_ptr<nn::Module> build_generator(const GeneratorConfig& config);
std::shared_ptr<nn::Module> build_discriminator(const DiscriminatorConfig& config);

// Points every Dropout layer of `net` at `gen` (not owned), so a run owns and checkpoints the dropout stream.
void set_dropout_generator(nn::Module& net, Generator& gen);

}  // namespace asyndgan::models
