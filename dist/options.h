// The training options shared by the Central and Site roles (one struct, so every site and the central node
// of a run agree on them); defaults are pix2pix's and the AsynDGAN authors'.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "base/numerics.h"
#include "data/loader.h"
#include "dist/messages.h"
#include "dist/site_policy.h"
#include "engine/device.h"
#include "engine/nn/module.h"
#include "engine/optim/adam.h"
#include "models/gan_loss.h"

namespace asyndgan::dist {

enum class Weighting { size, equal };           // pi_j = n_j / sum(n) over the step's sites / 1 / #sites
enum class DiscriminatorLayout { per_modality,  // one PatchGAN per modality the site has (condition + it)
                                 joint };       // one PatchGAN over the condition + all the site's modalities

struct TrainOptions {
  models::GanMode gan_loss = models::GanMode::vanilla;  // BCE with logits / least squares
  double lambda_l1 = 100;
  bool l1_brain_mask = false;              // L1 only where the condition's mask channel is > 0
  std::string mask_channel = "brain";      // the condition channel used by l1_brain_mask
  optim::AdamOptions adam_g{};             // lr 2e-4, betas (0.5, 0.999), weight decay 0
  optim::AdamOptions adam_d{};
  int64_t batch_per_site = 1;
  int64_t crop = 0;                        // square random crop side (0: full samples)
  bool flip = false;                       // random left-right mirror
  data::Sampling sampling = data::Sampling::balance;  // balance: every site every step; uniform: see Sampler
  Weighting weighting = Weighting::size;
  DiscriminatorLayout discriminators = DiscriminatorLayout::per_modality;
  uint64_t seed = 0;                       // sampling, augmentation, dropout, each site's initial weights
  WireDtype wire_dtype = WireDtype::f32;   // synthetic images and gradients on the wire (dist.wire_dtype)
  Settings contract;                       // further settings all roles must share (the networks): dist/contract.h
  // How long a role waits for the other side's next message before it reports the peer as silent (dist.timeout_s).
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
  Device device = Device::cpu();           // where G and every D live (resolve_device picks it from config)
  // The run's precision and algorithm switches, parsed and checked once (engine/numerics.h parse_numerics: bf16
  // needs a CUDA device); place_model reads the precision, the program sets the engine's numerics from it.
  Numerics numerics{};
  // On a CUDA device with balance sampling: the central and site steps are captured once (after one eager
  // step) and replayed as CUDA graphs. Off by default until they pay (README, "Training on a GPU").
  bool cuda_graphs = false;
  // A site's own settings (its privacy and its refusals): not in the contract, declared in its Hello.
  SitePolicy site{};
};

// Builds a network for `in_channels` input channels (a discriminator) or in -> out (the generator); the
// trainer passes models/' factories, the tests tiny nets.
using DiscriminatorFactory = std::function<std::shared_ptr<nn::Module>(int64_t in_channels)>;
using GeneratorFactory = std::function<std::shared_ptr<nn::Module>(int64_t in_channels, int64_t out_channels)>;

}  // namespace asyndgan::dist
