// What the training-step benchmarks share (bench_train_step_bench on the CPU, bench_gpu_step on CUDA):
// synthetic per-site shards and the AsynDGAN spec with the networks as `asyndgan train` builds them.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include "data/shard.h"
#include "dist/simulation.h"
#include "engine/engine.h"
#include "engine/nn/init.h"
#include "models/factory.h"

namespace asyndgan::bench {

// One site's shard of `samples` samples: background/ncr/ed/et one-hot plus a brain mask (an ellipse with a blob
// of tumor classes whose position depends on the sample), and four smooth modality images in [-1, 1].
inline std::string write_shard(const std::filesystem::path& dir, int site, int64_t size, int64_t samples) {
  data::ShardHeader h;
  h.site = "site" + std::to_string(site);
  h.height = h.width = size;
  h.condition_channels = {"background", "ncr", "ed", "et", "brain"};
  h.image_channels = {"t1", "t1ce", "t2", "flair"};
  const std::string path = (dir / (h.site + ".shard")).string();
  data::ShardWriter w(path, h);
  const int64_t P = size * size;
  std::vector<float> cond(5 * P), img(4 * P);
  for (int64_t i = 0; i < samples; ++i) {
    std::fill(cond.begin(), cond.end(), 0.f);
    const double cx = 0.5 + 0.15 * std::sin(0.7 * static_cast<double>(i + site)), cy = 0.5 + 0.1 * std::cos(0.3 * static_cast<double>(i));
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x) {
        const double u = (static_cast<double>(x) + 0.5) / static_cast<double>(size) - 0.5;
        const double v = (static_cast<double>(y) + 0.5) / static_cast<double>(size) - 0.5;
        const bool brain = u * u / 0.16 + v * v / 0.2 < 1;
        const double r = std::hypot(u + 0.5 - cx, v + 0.5 - cy);
        const int64_t cls = !brain ? 0 : r < 0.04 ? 1 : r < 0.07 ? 3 : r < 0.12 ? 2 : 0;
        const int64_t p = y * size + x;
        cond[static_cast<size_t>(cls * P + p)] = 1.f;
        cond[static_cast<size_t>(4 * P + p)] = brain ? 1.f : 0.f;
        for (int64_t m = 0; m < 4; ++m)
          img[static_cast<size_t>(m * P + p)] =
              brain ? static_cast<float>(0.6 * std::sin(7 * u * static_cast<double>(m + 1) + 5 * v) - 0.1 * static_cast<double>(cls)) : -1.f;
      }
    w.add(cond.data(), img.data(), {"subject-" + std::to_string(i / 16), static_cast<int32_t>(i % 16), data::Split::train, 0b1111u});
  }
  w.finish();
  return path;
}

// U-Net G (depth log2(size), ngf 64, dropout) and one 70x70 PatchGAN (ndf 64, n_layers 3) per modality, both
// with `norm` and pix2pix's N(0, 0.02) init; vanilla GAN, lambda_L1 100, no crop or flip, size weighting.
inline dist::SimulationSpec make_spec(const std::vector<std::string>& shards, int64_t size, int64_t batch,
                                      const std::string& norm) {
  dist::SimulationSpec spec;
  spec.shards = shards;
  spec.options.gan_loss = models::GanMode::vanilla;
  spec.options.lambda_l1 = 100;
  spec.options.batch_per_site = batch;
  spec.options.seed = 1;
  spec.make_generator = [size, norm](int64_t in, int64_t out) {
    models::GeneratorConfig g;
    g.kind = "unet";
    g.in_channels = in;
    g.out_channels = out;
    g.ngf = 64;
    g.norm = norm;
    g.dropout = true;
    g.image_size = size;
    auto net = models::build_generator(g);
    nn::init_pix2pix(*net, default_generator());
    return net;
  };
  spec.make_discriminator = [norm](int64_t in) {
    models::DiscriminatorConfig d;
    d.in_channels = in;
    d.ndf = 64;
    d.n_layers = 3;
    d.norm = norm;
    auto net = models::build_discriminator(d);
    nn::init_pix2pix(*net, default_generator());
    return net;
  };
  return spec;
}

}  // namespace asyndgan::bench
