// The training loader: draws per-site batches from shards with seeded crop/flip augmentation, decoding them
// on background threads into a bounded queue so a training step never waits on data.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "data/sampler.h"
#include "data/shard.h"
#include "engine/tensor.h"

namespace asyndgan::data {

// The augmentation of one drawn sample: the crop's top-left corner and a left-right mirror.
struct CropFlip {
  int32_t top = 0, left = 0;
  bool flip = false;
  bool operator==(const CropFlip&) const = default;
};

// The augmentation of draw number `draw` (the loader numbers every sample it draws, from 0) of sample
// `index`: a pure function of these integers (Philox), so the central node can send a site the few numbers
// it needs to augment its real image exactly as the central node augmented the condition. crop 0 (or the
// full size) means no crop; flip false means never mirrored.
CropFlip crop_flip(uint64_t seed, uint64_t draw, int64_t index, int64_t crop, int64_t height, int64_t width, bool flip);

struct Batch {
  std::string site;
  std::vector<int64_t> indices;  // sample indices within the site's shard
  std::vector<CropFlip> aug;     // one per sample
  Tensor condition;              // [B, Cc, h, w] f32 in [0, 1]
  Tensor image;                  // [B, Cm, h, w] f32
  Tensor available;              // [B, Cm] f32, 1 where the modality is real, 0 where it was zero-filled
};

// Decodes samples `indices` of `shard` with their augmentation into a batch (h = w = crop, or the full
// size when crop is 0), the same way Loader::next() does: a site rebuilds the central node's batch from
// (indices, aug, crop). `threads` OpenMP threads decode (0: the OpenMP default).
Batch make_batch(const Shard& shard, const std::vector<int64_t>& indices, const std::vector<CropFlip>& aug,
                 int64_t crop = 0, int threads = 0);

struct LoaderOptions {
  int64_t batch_per_site = 1;
  int64_t crop = 0;     // square random crop side; 0: the full sample
  bool flip = false;    // random left-right mirror
  std::optional<Split> split = Split::train;  // only samples of this split; nullopt: all
  Sampling sampling = Sampling::balance;
  uint64_t seed = 0;
  int prefetch = 4;     // batches decoded ahead (queued or in progress); 0: decode inside next()
  // Background threads, each decoding whole batches (no barrier inside a batch, no OpenMP team spinning
  // beside the trainer's); at most `prefetch` of them. With prefetch 0: OpenMP threads inside next().
  int threads = 2;
};

// Batches from one shard per site. Each site walks through its samples in a fresh Philox permutation every
// epoch (of that site). The sequence of batches depends only on the shards and options, never on the
// prefetch depth or thread timing.
class Loader {
 public:
  // All shards must share sample size and channel names; each needs samples of the chosen split.
  Loader(std::vector<std::shared_ptr<Shard>> shards, LoaderOptions options);
  ~Loader();  // stops and joins the prefetch threads, even with a full queue
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch; rethrows an exception raised while preparing it.
  Batch next();

  int64_t num_sites() const;
  // Samples of the chosen split at each site, in shard order.
  std::vector<int64_t> site_sizes() const;
  const LoaderOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace asyndgan::data
