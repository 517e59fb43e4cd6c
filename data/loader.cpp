// The loader: a sequential planner (which site, which samples, which crop/flip) feeding a background thread
// that decodes planned batches into a bounded queue. Only the planner decides anything random, and it runs
// in one thread in draw order, so the batches do not depend on the prefetch depth or thread timing.
#include "data/loader.h"
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <exception>
#include <mutex>
#include <thread>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "base/error.h"
#include "engine/rng.h"

namespace asyndgan::data {

namespace {

// Distinct keys for the two uses of the seed, so shuffles and augmentations are independent streams (and of the
// central node's shuffle, dist/sampler.cpp).
constexpr uint64_t kAugTag = 0x6175676d656e7421ull, kShuffleTag = 0x73687566666c6521ull;

}  // namespace

CropFlip crop_flip(uint64_t seed, uint64_t draw, int64_t index, int64_t crop, int64_t height, int64_t width, bool flip) {
  if (crop < 0 || crop > height || crop > width)
    throw ValueError(msg("crop_flip: crop ", crop, " does not fit ", height, "x", width, " samples"));
  const Philox4 r = keyed_block(seed, kAugTag, draw, static_cast<uint64_t>(index));
  CropFlip a;
  if (crop > 0) {  // the modulo bias is below 2^-16 for any sample size the format allows
    a.top = static_cast<int32_t>(r.v[0] % static_cast<uint32_t>(height - crop + 1));
    a.left = static_cast<int32_t>(r.v[1] % static_cast<uint32_t>(width - crop + 1));
  }
  a.flip = flip && (r.v[2] & 1u);
  return a;
}

namespace {

using Allocate = std::function<Tensor(const Shape&)>;

Batch build_batch(const Shard& shard, const std::vector<int64_t>& indices, const std::vector<CropFlip>& aug, int64_t crop,
                  int threads, const Allocate& allocate) {
  const ShardHeader& h = shard.header();
  const auto where = [&] { return msg("make_batch ('", shard.path(), "')"); };
  if (indices.empty()) throw ValueError(msg(where(), ": no indices"));
  if (aug.size() != indices.size())
    throw ValueError(msg(where(), ": ", indices.size(), " indices but ", aug.size(), " augmentations"));
  if (crop < 0 || crop > h.height || crop > h.width)
    throw ValueError(msg(where(), ": crop ", crop, " does not fit ", h.height, "x", h.width, " samples"));
  const int64_t ch = crop ? crop : h.height, cw = crop ? crop : h.width;
  const auto B = static_cast<int64_t>(indices.size());
  for (int64_t b = 0; b < B; ++b) {
    if (indices[b] < 0 || indices[b] >= shard.size())
      throw ValueError(msg(where(), ": index ", indices[b], " outside the shard's ", shard.size(), " samples"));
    if (aug[b].top < 0 || aug[b].left < 0 || aug[b].top + ch > h.height || aug[b].left + cw > h.width)
      throw ValueError(msg(where(), ": crop ", ch, "x", cw, " at (", aug[b].top, ", ", aug[b].left, ") does not fit ",
                           h.height, "x", h.width, " samples"));
  }
  const auto Cc = static_cast<int64_t>(h.condition_channels.size()), Cm = static_cast<int64_t>(h.image_channels.size());
  Batch batch;
  batch.site = h.site;
  batch.indices = indices;
  batch.aug = aug;
  batch.condition = allocate({B, Cc, ch, cw});
  batch.image = allocate({B, Cm, ch, cw});
  batch.available = allocate({B, Cm});
  float* cond = batch.condition.data<float>();
  float* img = batch.image.data<float>();
  float* avail = batch.available.data<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t m = 0; m < Cm; ++m) avail[b * Cm + m] = (h.samples[static_cast<size_t>(indices[b])].available >> m) & 1u ? 1.0f : 0.0f;

  // One task per (sample, channel) plane, so even a batch of one sample spreads over the threads.
  const int64_t planes = B * (Cc + Cm), plane = ch * cw;
  int nt = threads;
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#endif
  nt = static_cast<int>(std::min<int64_t>(std::max(nt, 1), planes));
  std::exception_ptr error;
  std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic) num_threads(nt)
  for (int64_t t = 0; t < planes; ++t) {
    try {
      const int64_t b = t / (Cc + Cm), c = t % (Cc + Cm);
      const Shard::Window w{aug[b].top, aug[b].left, ch, cw, aug[b].flip};
      if (c < Cc)
        shard.read_condition_plane(indices[b], c, w, cond + (b * Cc + c) * plane);
      else
        shard.read_image_plane(indices[b], c - Cc, w, img + (b * Cm + (c - Cc)) * plane);
    } catch (...) {  // an exception must not leave an OpenMP region
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return batch;
}

}  // namespace

Batch make_batch(const Shard& shard, const std::vector<int64_t>& indices, const std::vector<CropFlip>& aug, int64_t crop, int threads) {
  return build_batch(shard, indices, aug, crop, threads, [](const Shape& s) { return Tensor::empty(s); });
}

namespace {

// Recycles batch buffers the caller has let go of. A fresh 16 x 256 x 256 batch is ~38 MB that malloc
// maps anew and the kernel zero-fills page by page, which cost more than decoding it; a buffer comes
// back only when nothing but this pool references its tensor or storage, and with a fresh TensorImpl so
// no autograd state or name carries over.
class BufferPool {
 public:
  explicit BufferPool(size_t capacity) : capacity_(capacity) {}
  Tensor acquire(const Shape& shape) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = pool_.begin(); it != pool_.end(); ++it)
      if (it->shape() == shape && it->impl_ptr().use_count() == 1 && it->impl().storage.use_count() == 1) {
        Tensor t = make_view(*it, shape, contiguous_strides(shape), 0);
        pool_.erase(it);
        return t;
      }
    return Tensor::empty(shape);
  }
  void track(const Batch& b) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Tensor* t : {&b.condition, &b.image, &b.available}) pool_.push_back(*t);
    while (pool_.size() > capacity_) pool_.pop_front();
  }

 private:
  std::mutex mutex_;
  std::deque<Tensor> pool_;
  size_t capacity_;
};

struct Plan {
  size_t site = 0;
  std::vector<int64_t> indices;
  std::vector<CropFlip> aug;
};

// Decides every batch in order: the site from the schedule, its samples from the site's epochs (a batch that
// reaches the end of one continues in the next), each sample's crop and flip from its draw number.
class Planner {
 public:
  Planner(std::vector<std::vector<int64_t>> eligible, const LoaderOptions& o, int64_t height, int64_t width)
      : schedule_(o.sampling, sizes(eligible)), o_(o), height_(height), width_(width) {
    for (size_t s = 0; s < eligible.size(); ++s) sites_.emplace_back(std::move(eligible[s]), o.seed, kShuffleTag, s);
  }

  Plan next() {
    Plan p;
    p.site = schedule_.next();
    for (int64_t j = 0; j < o_.batch_per_site; ++j) {
      const int64_t index = sites_[p.site].next();
      p.indices.push_back(index);
      p.aug.push_back(crop_flip(o_.seed, draws_++, index, o_.crop, height_, width_, o_.flip));
    }
    return p;
  }

 private:
  static std::vector<int64_t> sizes(const std::vector<std::vector<int64_t>>& eligible) {
    std::vector<int64_t> n;
    for (const auto& e : eligible) n.push_back(static_cast<int64_t>(e.size()));
    return n;
  }

  std::vector<SiteEpochs> sites_;
  SiteSchedule schedule_;
  LoaderOptions o_;
  int64_t height_, width_;
  uint64_t draws_ = 0;
};

}  // namespace

// Workers take plans in sequence under the lock and decode them concurrently, one batch per worker (no
// barrier inside a batch, nothing spinning while the queue is full); next() hands results out in plan order.
struct Loader::Impl {
  std::vector<std::shared_ptr<Shard>> shards;
  LoaderOptions options;
  std::unique_ptr<Planner> planner;
  std::vector<int64_t> site_sizes;

  struct Result {
    Batch batch;
    std::exception_ptr error;
  };
  std::mutex mutex;
  std::condition_variable ready, room;
  std::map<uint64_t, Result> done;  // decoded batches by plan number
  uint64_t planned = 0, delivered = 0;
  bool stop = false, failed = false;
  std::vector<std::thread> workers;
  std::unique_ptr<BufferPool> buffers;

  Batch decode(const Plan& p, int threads) {
    Batch b = build_batch(*shards[p.site], p.indices, p.aug, options.crop, threads,
                          [this](const Shape& s) { return buffers->acquire(s); });
    buffers->track(b);
    return b;
  }

  void work() {
    for (;;) {
      Plan plan;
      uint64_t seq;
      {
        std::unique_lock<std::mutex> lock(mutex);
        room.wait(lock, [&] { return stop || (!failed && planned - delivered < static_cast<uint64_t>(options.prefetch)); });
        if (stop) return;
        seq = planned++;
        try {
          plan = planner->next();
        } catch (...) {
          failed = true;
          done[seq].error = std::current_exception();
          ready.notify_all();
          return;
        }
      }
      Result r;
      try {
        r.batch = decode(plan, 1);
      } catch (...) {
        r.error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (r.error) failed = true;
      done[seq] = std::move(r);
      ready.notify_all();
    }
  }
};

Loader::Loader(std::vector<std::shared_ptr<Shard>> shards, LoaderOptions options) : impl_(std::make_unique<Impl>()) {
  const LoaderOptions& o = options;
  if (shards.empty()) throw ValueError("Loader: no shards");
  for (const auto& s : shards)
    if (!s) throw ValueError("Loader: a shard pointer is null");
  const ShardHeader& first = shards[0]->header();
  for (const auto& s : shards) {
    const ShardHeader& h = s->header();
    if (h.height != first.height || h.width != first.width || h.condition_channels != first.condition_channels ||
        h.image_channels != first.image_channels)
      throw ValueError(msg("Loader: shard '", s->path(), "' (", h.height, "x", h.width, ", ", h.condition_channels.size(), "+",
                           h.image_channels.size(), " channels) does not match '", shards[0]->path(), "' (", first.height, "x",
                           first.width, ", ", first.condition_channels.size(), "+", first.image_channels.size(),
                           " channels): prepare all sites with the same options"));
  }
  if (o.batch_per_site < 1) throw ValueError(msg("Loader: batch_per_site must be at least 1, got ", o.batch_per_site));
  if (o.crop < 0 || o.crop > first.height || o.crop > first.width)
    throw ValueError(msg("Loader: crop ", o.crop, " does not fit the ", first.height, "x", first.width, " samples"));
  if (o.prefetch < 0) throw ValueError(msg("Loader: prefetch must be 0 or more, got ", o.prefetch));
  if (o.sampling != Sampling::balance && o.sampling != Sampling::uniform) throw ValueError("Loader: unknown sampling");

  std::vector<std::vector<int64_t>> eligible(shards.size());
  for (size_t s = 0; s < shards.size(); ++s) {
    const auto& samples = shards[s]->header().samples;
    for (size_t i = 0; i < samples.size(); ++i)
      if (!o.split || samples[i].split == *o.split) eligible[s].push_back(static_cast<int64_t>(i));
    if (eligible[s].empty())
      throw ValueError(msg("Loader: site '", shards[s]->header().site, "' ('", shards[s]->path(), "') has no ",
                           o.split ? split_name(*o.split) : "", " samples"));
    impl_->site_sizes.push_back(static_cast<int64_t>(eligible[s].size()));
  }
  impl_->planner = std::make_unique<Planner>(std::move(eligible), o, first.height, first.width);
  impl_->shards = std::move(shards);
  impl_->options = std::move(options);
  // Enough to cover the batches queued, being decoded and held by the caller, three tensors each.
  impl_->buffers = std::make_unique<BufferPool>(3 * static_cast<size_t>(impl_->options.prefetch + impl_->options.threads + 4));
  if (impl_->options.prefetch > 0) {
    const int n = std::max(1, std::min(impl_->options.threads, impl_->options.prefetch));
    for (int t = 0; t < n; ++t) impl_->workers.emplace_back([this] { impl_->work(); });
  }
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->room.notify_all();
  for (auto& t : impl_->workers) t.join();
}

Batch Loader::next() {
  Impl& m = *impl_;
  if (m.options.prefetch == 0) {
    const Plan p = m.planner->next();
    return m.decode(p, m.options.threads);
  }
  std::unique_lock<std::mutex> lock(m.mutex);
  m.ready.wait(lock, [&] { return m.done.count(m.delivered) > 0; });
  auto it = m.done.find(m.delivered);
  if (it->second.error) std::rethrow_exception(it->second.error);  // kept: later calls throw it again
  Batch b = std::move(it->second.batch);
  m.done.erase(it);
  ++m.delivered;
  lock.unlock();
  m.room.notify_all();
  return b;
}

int64_t Loader::num_sites() const { return static_cast<int64_t>(impl_->shards.size()); }
std::vector<int64_t> Loader::site_sizes() const { return impl_->site_sizes; }
const LoaderOptions& Loader::options() const { return impl_->options; }

}  // namespace asyndgan::data
