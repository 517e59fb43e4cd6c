// Loader tests: seeded, prefetch-independent batches; crop/flip applied identically to condition and image
// (samples whose pixels encode their own coordinates); balance/uniform proportions; split filter;
// make_batch reproducing next(); a destructor that does not hang on a full queue.
#include <doctest/doctest.h>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include "data/loader.h"
#include "base/error.h"
#include "engine/file_test_util.h"

using namespace asyndgan;
using namespace asyndgan::data;
using asyndgan::test::contains_all;
using asyndgan::test::error_message;
using asyndgan::test::ScratchDir;

namespace {

constexpr int64_t H = 24, W = 32;

// Condition channel 0 holds x / 255, channel 1 y / 255 (exact in u8); image channel 0 holds x + 32 y and
// channel 1 the sample index (integers below 2048 are exact in float16). Sample i's split is splits[i % n].
std::shared_ptr<Shard> coded_shard(const ScratchDir& dir, const std::string& site, int n, std::vector<Split> splits = {Split::train}) {
  ShardHeader h;
  h.site = site;
  h.height = H;
  h.width = W;
  h.condition_channels = {"x", "y"};
  h.image_channels = {"xy", "index"};
  const std::string path = dir.file(site + ".shard");
  ShardWriter w(path, h);
  std::vector<float> cond(2 * H * W), img(2 * H * W);
  for (int i = 0; i < n; ++i) {
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        cond[y * W + x] = static_cast<float>(x) / 255.0f;
        cond[H * W + y * W + x] = static_cast<float>(y) / 255.0f;
        img[y * W + x] = static_cast<float>(x + 32 * y);
        img[H * W + y * W + x] = static_cast<float>(i);
      }
    w.add(cond.data(), img.data(), {site + "-" + std::to_string(i), i, splits[i % splits.size()], i % 3 == 0 ? 0b01u : 0b11u});
  }
  w.finish();
  return Shard::open(path);
}

bool same_batch(const Batch& a, const Batch& b) {
  return a.site == b.site && a.indices == b.indices && a.aug == b.aug && a.condition.shape() == b.condition.shape() &&
         a.condition.to_vector<float>() == b.condition.to_vector<float>() && a.image.to_vector<float>() == b.image.to_vector<float>() &&
         a.available.to_vector<float>() == b.available.to_vector<float>();
}

}  // namespace

TEST_CASE("loader: crop_flip is a pure function of its integers and covers the crop range") {
  CHECK(crop_flip(5, 17, 3, 20, H, W, true) == crop_flip(5, 17, 3, 20, H, W, true));
  CHECK(crop_flip(5, 0, 3, 0, H, W, false) == CropFlip{0, 0, false});
  std::set<int> tops, lefts;
  int flips = 0, differ = 0;
  for (uint64_t d = 0; d < 1000; ++d) {
    const CropFlip a = crop_flip(5, d, 7, 20, H, W, true);
    REQUIRE(a.top >= 0);
    REQUIRE(a.top <= H - 20);
    REQUIRE(a.left >= 0);
    REQUIRE(a.left <= W - 20);
    tops.insert(a.top);
    lefts.insert(a.left);
    flips += a.flip;
    differ += !(a == crop_flip(6, d, 7, 20, H, W, true));
    REQUIRE_FALSE(crop_flip(5, d, 7, 20, H, W, false).flip);
  }
  CHECK(tops.size() == H - 20 + 1);
  CHECK(lefts.size() == W - 20 + 1);
  CHECK(flips > 400);
  CHECK(flips < 600);
  CHECK(differ > 900);  // another seed, other augmentations
  CHECK_THROWS_AS(crop_flip(5, 0, 0, H + 1, H, W, false), ValueError);
}

TEST_CASE("loader: crop and flip are applied identically to condition and image") {
  ScratchDir dir("loader_crop");
  auto shard = coded_shard(dir, "a", 6);
  LoaderOptions o;
  o.batch_per_site = 3;
  o.crop = 16;
  o.flip = true;
  o.seed = 11;
  Loader loader({shard}, o);
  int flipped = 0, plain = 0;
  for (int step = 0; step < 8; ++step) {
    const Batch b = loader.next();
    CHECK(b.site == "a");
    REQUIRE(b.condition.shape() == Shape{3, 2, 16, 16});
    REQUIRE(b.image.shape() == Shape{3, 2, 16, 16});
    REQUIRE(b.available.shape() == Shape{3, 2});
    const auto cond = b.condition.to_vector<float>(), img = b.image.to_vector<float>(), avail = b.available.to_vector<float>();
    for (int64_t s = 0; s < 3; ++s) {
      const CropFlip a = b.aug[s];
      (a.flip ? flipped : plain)++;
      CHECK(avail[s * 2] == 1.0f);
      CHECK(avail[s * 2 + 1] == (b.indices[s] % 3 == 0 ? 0.0f : 1.0f));
      for (int64_t r = 0; r < 16; ++r)
        for (int64_t c = 0; c < 16; ++c) {
          const int64_t y = a.top + r, x = a.flip ? a.left + 15 - c : a.left + c;
          const int64_t p = r * 16 + c, plane = 256;
          REQUIRE(cond[(s * 2 + 0) * plane + p] == static_cast<float>(x) / 255.0f);
          REQUIRE(cond[(s * 2 + 1) * plane + p] == static_cast<float>(y) / 255.0f);
          REQUIRE(img[(s * 2 + 0) * plane + p] == static_cast<float>(x + 32 * y));
          REQUIRE(img[(s * 2 + 1) * plane + p] == static_cast<float>(b.indices[s]));
        }
    }
  }
  CHECK(flipped > 0);
  CHECK(plain > 0);
}

TEST_CASE("loader: batches are deterministic for a seed and independent of prefetch depth and threads") {
  ScratchDir dir("loader_determinism");
  std::vector<std::shared_ptr<Shard>> shards = {coded_shard(dir, "a", 5), coded_shard(dir, "b", 9)};
  auto run = [&](uint64_t seed, int prefetch, int threads, Sampling sampling) {
    LoaderOptions o;
    o.batch_per_site = 2;
    o.crop = 20;
    o.flip = true;
    o.seed = seed;
    o.prefetch = prefetch;
    o.threads = threads;
    o.sampling = sampling;
    Loader loader(shards, o);
    std::vector<Batch> out;
    for (int i = 0; i < 12; ++i) {
      if (i % 4 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // vary the timing
      out.push_back(loader.next());
    }
    return out;
  };
  for (Sampling sampling : {Sampling::balance, Sampling::uniform}) {
    const auto ref = run(3, 0, 1, sampling);
    for (auto [prefetch, threads] : {std::pair{1, 2}, std::pair{4, 1}, std::pair{8, 2}}) {
      const auto other = run(3, prefetch, threads, sampling);
      for (size_t i = 0; i < ref.size(); ++i) REQUIRE(same_batch(ref[i], other[i]));
    }
    const auto reseeded = run(4, 2, 2, sampling);
    int differ = 0;
    for (size_t i = 0; i < ref.size(); ++i) differ += !same_batch(ref[i], reseeded[i]);
    CHECK(differ > 6);
  }
}

TEST_CASE("loader: make_batch rebuilds what next() produced from indices and augmentation") {
  ScratchDir dir("loader_make_batch");
  std::vector<std::shared_ptr<Shard>> shards = {coded_shard(dir, "a", 4), coded_shard(dir, "b", 7)};
  for (int64_t crop : {int64_t(0), int64_t(18)}) {
    LoaderOptions o;
    o.batch_per_site = 3;
    o.crop = crop;
    o.flip = true;
    o.seed = 99;
    Loader loader(shards, o);
    for (int i = 0; i < 6; ++i) {
      const Batch b = loader.next();
      const Shard& shard = *shards[b.site == "a" ? 0 : 1];
      REQUIRE(same_batch(b, make_batch(shard, b.indices, b.aug, crop, 1)));
      if (crop == 0) CHECK(b.condition.shape() == Shape{3, 2, H, W});
    }
  }
  CHECK_THROWS_AS(make_batch(*shards[0], {4}, {CropFlip{}}), ValueError);             // index out of range
  CHECK_THROWS_AS(make_batch(*shards[0], {0}, {CropFlip{7, 0, false}}, 18), ValueError);  // crop off the edge
  CHECK_THROWS_AS(make_batch(*shards[0], {0, 1}, {CropFlip{}}), ValueError);          // one aug short
}

TEST_CASE("loader: balance gives every site one batch per step, uniform follows site sizes") {
  ScratchDir dir("loader_sampling");
  std::vector<std::shared_ptr<Shard>> shards = {coded_shard(dir, "small", 2), coded_shard(dir, "mid", 6), coded_shard(dir, "big", 12)};
  LoaderOptions o;
  o.seed = 1;
  {
    Loader loader(shards, o);
    CHECK(loader.num_sites() == 3);
    CHECK(loader.site_sizes() == std::vector<int64_t>{2, 6, 12});
    std::map<std::string, std::vector<int64_t>> drawn;
    for (int step = 0; step < 12; ++step)
      for (const char* site : {"small", "mid", "big"}) {
        const Batch b = loader.next();
        REQUIRE(b.site == site);
        drawn[site].push_back(b.indices[0]);
      }
    // Each site's epochs are permutations of its samples; the small site is oversampled (six epochs).
    for (const auto& [site, n] : std::map<std::string, int>{{"small", 2}, {"mid", 6}, {"big", 12}}) {
      const auto& d = drawn[site];
      for (size_t e = 0; e + n <= d.size(); e += n) {
        std::set<int64_t> epoch(d.begin() + e, d.begin() + e + n);
        CHECK(epoch.size() == static_cast<size_t>(n));
      }
    }
  }
  {
    o.sampling = Sampling::uniform;
    Loader loader(shards, o);
    std::map<std::string, int> count;
    for (int i = 0; i < 20; ++i) count[loader.next().site]++;
    CHECK(count["small"] == 2);
    CHECK(count["mid"] == 6);
    CHECK(count["big"] == 12);
    for (int i = 0; i < 200; ++i) count[loader.next().site]++;
    CHECK(count["small"] == 22);
    CHECK(count["mid"] == 66);
    CHECK(count["big"] == 132);
  }
}

TEST_CASE("loader: the split filter keeps only that split's samples") {
  ScratchDir dir("loader_split");
  auto shard = coded_shard(dir, "a", 10, {Split::train, Split::train, Split::val, Split::test, Split::train});
  auto indices_of = [&](std::optional<Split> split) {
    LoaderOptions o;
    o.split = split;
    o.batch_per_site = 2;
    Loader loader({shard}, o);
    std::set<int64_t> seen;
    for (int i = 0; i < 20; ++i)
      for (int64_t k : loader.next().indices) seen.insert(k);
    return seen;
  };
  CHECK(indices_of(Split::train) == std::set<int64_t>{0, 1, 4, 5, 6, 9});
  CHECK(indices_of(Split::val) == std::set<int64_t>{2, 7});
  CHECK(indices_of(Split::test) == std::set<int64_t>{3, 8});
  CHECK(indices_of(std::nullopt).size() == 10);
  auto train_only = coded_shard(dir, "b", 3);
  LoaderOptions o;
  o.split = Split::val;
  CHECK(contains_all(error_message<ValueError>([&] { Loader({shard, train_only}, o); }), {"site 'b'", "no val samples"}));
}

TEST_CASE("loader: mismatched shards and bad options are refused") {
  ScratchDir dir("loader_options");
  auto a = coded_shard(dir, "a", 3);
  ShardHeader h;
  h.site = "other";
  h.height = H;
  h.width = W;
  h.condition_channels = {"x"};
  h.image_channels = {"xy", "index"};
  ShardWriter w(dir.file("other.shard"), h);
  w.finish();
  auto other = Shard::open(dir.file("other.shard"));
  CHECK(contains_all(error_message<ValueError>([&] { Loader({a, other}, LoaderOptions{}); }), {"other.shard", "does not match"}));
  LoaderOptions o;
  o.crop = W;
  CHECK_THROWS_AS(Loader({a}, o), ValueError);
  o.crop = 0;
  o.batch_per_site = 0;
  CHECK_THROWS_AS(Loader({a}, o), ValueError);
  CHECK_THROWS_AS(Loader({}, LoaderOptions{}), ValueError);
}

TEST_CASE("loader: the destructor returns promptly with a full queue and mid-decode") {
  ScratchDir dir("loader_shutdown");
  auto shard = coded_shard(dir, "a", 8);
  const auto t0 = std::chrono::steady_clock::now();
  for (int prefetch : {1, 3}) {
    LoaderOptions o;
    o.prefetch = prefetch;
    o.batch_per_site = 4;
    {
      Loader loader({shard}, o);
      loader.next();
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the queue fills and the worker waits
    }
    { Loader loader({shard}, o); }  // destroyed while the first batches are being decoded
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("loader: recycled buffers never overwrite a batch the caller still holds") {
  ScratchDir dir("loader_buffers");
  auto shard = coded_shard(dir, "a", 6);
  LoaderOptions o;
  o.batch_per_site = 2;
  o.crop = 16;
  o.flip = true;
  o.seed = 5;
  Loader loader({shard}, o);
  const Batch held = loader.next();
  const auto held_image = held.image.to_vector<float>();
  Tensor view = loader.next().condition.narrow(0, 0, 1);  // a view keeps its storage alive too
  const auto view_values = view.to_vector<float>();
  for (int i = 0; i < 30; ++i) {
    Batch b = loader.next();
    CHECK_FALSE(b.image.requires_grad());
    if (i == 3) b.image.set_requires_grad(true);  // must not carry over when the buffer is reused
    REQUIRE(same_batch(b, make_batch(*shard, b.indices, b.aug, 16, 1)));
  }
  CHECK(held.image.to_vector<float>() == held_image);
  CHECK(view.to_vector<float>() == view_values);
}
