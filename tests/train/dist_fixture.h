// Shared pieces of the dist tests: tiny synthetic shards whose images are a fixed function of the condition
// (so a generator can learn them), tiny networks, and a channel tap that records every decoded message.
#pragma once
#include <cmath>
#include <memory>
#include <string>
#include <vector>
#include "data/shard.h"
#include "dist/in_process_channel.h"
#include "dist/simulation.h"
#include "engine/file_test_util.h"
#include "engine/nn/nn.h"

namespace asyndgan::test {

// Conditions: background, tumor (a disc), brain (a larger disc), id (sample index / 255, constant); images:
// t1 = 0.8 brain - 1.2 tumor - 0.4 (background -1 ... ) and t2 = brain + 0.6 tumor - 0.9 plus a site offset.
// Samples with `missing` get t2 zero-filled and its availability bit cleared.
inline std::string write_dist_shard(const ScratchDir& dir, const std::string& site, int n, int64_t size = 16,
                                    bool missing_t2 = false, float offset = 0.0f, int val_every = 0) {
  data::ShardHeader h;
  h.site = site;
  h.height = size;
  h.width = size;
  h.condition_channels = {"background", "tumor", "brain", "id"};
  h.image_channels = {"t1", "t2"};
  const std::string path = dir.file(site + ".shard");
  data::ShardWriter w(path, h, data::ImageEncoding::f32);
  const int64_t P = size * size;
  std::vector<float> cond(4 * P), img(2 * P);
  for (int i = 0; i < n; ++i) {
    const double cx = size * (0.35 + 0.3 * std::fmod(i * 0.37, 1.0)), cy = size * (0.4 + 0.2 * std::fmod(i * 0.61, 1.0));
    const double rb = size * 0.42, rt = size * (0.08 + 0.1 * std::fmod(i * 0.23, 1.0));
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x) {
        const double db = std::hypot(x - size / 2.0 + 0.5, y - size / 2.0 + 0.5), dt = std::hypot(x - cx, y - cy);
        const float brain = db < rb ? 1.0f : 0.0f, tumor = (dt < rt && brain > 0) ? 1.0f : 0.0f;
        cond[y * size + x] = 1.0f - brain;
        cond[P + y * size + x] = tumor;
        cond[2 * P + y * size + x] = brain;
        cond[3 * P + y * size + x] = static_cast<float>(i) / 255.0f;
        img[y * size + x] = brain > 0 ? 0.8f - 1.2f * tumor + offset : -1.0f;
        img[P + y * size + x] = missing_t2 ? 0.0f : (brain > 0 ? 0.1f + 0.6f * tumor - 0.2f * offset : -1.0f);
      }
    const data::Split split = val_every > 0 && i % val_every == val_every - 1 ? data::Split::val : data::Split::train;
    w.add(cond.data(), img.data(), {site + "-subject-" + std::to_string(i), i, split, missing_t2 ? 0b01u : 0b11u});
  }
  w.finish();
  return path;
}

// in -> 8 -> out, 3x3 convs, tanh: a generator small enough for many steps per test.
inline std::shared_ptr<nn::Module> tiny_generator(int64_t in, int64_t out) {
  auto s = std::make_shared<nn::Sequential>();
  s->push_back(std::make_shared<nn::Conv2d>(in, 8, 3, 1, 1));
  s->push_back(std::make_shared<nn::LeakyReLU>(0.2));
  s->push_back(std::make_shared<nn::Conv2d>(8, out, 3, 1, 1));
  s->push_back(std::make_shared<nn::Tanh>());
  return s;
}

// A two-conv patch discriminator (4x4, stride 2 then 1).
inline std::shared_ptr<nn::Module> tiny_discriminator(int64_t in) {
  auto s = std::make_shared<nn::Sequential>();
  s->push_back(std::make_shared<nn::Conv2d>(in, 8, 4, 2, 1));
  s->push_back(std::make_shared<nn::LeakyReLU>(0.2));
  s->push_back(std::make_shared<nn::Conv2d>(8, 1, 4, 1, 1));
  return s;
}

inline dist::SimulationSpec tiny_spec(std::vector<std::string> shards) {
  dist::SimulationSpec spec;
  spec.shards = std::move(shards);
  spec.make_generator = tiny_generator;
  spec.make_discriminator = tiny_discriminator;
  spec.options.seed = 7;
  return spec;
}

// A central end that forwards to another one and keeps every message it carried, as the receiving side decodes
// it (host tensors, in the wire dtype's precision).
class TapChannel : public dist::CentralChannel {
 public:
  explicit TapChannel(dist::CentralChannel& inner, dist::WireDtype wire = dist::WireDtype::f32) : inner_(inner), wire_(wire) {}
  int64_t num_sites() const override { return inner_.num_sites(); }
  std::vector<std::pair<int64_t, dist::ToSite>> down;
  std::vector<std::pair<int64_t, dist::ToCentral>> up;

  void send(int64_t site, const dist::ToSite& m) override {
    inner_.send(site, m);
    down.emplace_back(site, dist::decode_to_site(dist::encode(m, wire_), wire_));
  }
  dist::ToCentral receive(int64_t site, dist::Timeout timeout) override {
    dist::ToCentral m = inner_.receive(site, timeout);
    up.emplace_back(site, m);
    return m;
  }
  dist::Incoming receive_any(dist::Timeout timeout) override {
    dist::Incoming in = inner_.receive_any(timeout);
    up.emplace_back(in.site, in.message);
    return in;
  }
  void close(int64_t site) override { inner_.close(site); }
  dist::Traffic traffic() const override { return inner_.traffic(); }
  void receive_on(Device device) override { inner_.receive_on(device); }

 private:
  dist::CentralChannel& inner_;
  dist::WireDtype wire_;
};

}  // namespace asyndgan::test
