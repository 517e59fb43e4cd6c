// Shard format tests: round trip of header and samples within the documented quantization, 64-byte
// alignment, and refusal of corrupt, truncated, foreign and newer-version files with clear errors.
#include <doctest/doctest.h>
#include <cmath>
#include <cstring>
#include "data/shard.h"
#include "base/error.h"
#include "engine/file_test_util.h"
#include "base/half.h"
#include "kernels/common/philox.h"

using namespace asyndgan;
using namespace asyndgan::data;
using asyndgan::test::contains_all;
using asyndgan::test::error_message;
using asyndgan::test::read_bytes;
using asyndgan::test::ScratchDir;
using asyndgan::test::write_bytes;

namespace {

constexpr int64_t H = 10, W = 14, CC = 3, CM = 2;

ShardHeader test_header() {
  ShardHeader h;
  h.site = "site-A";
  h.height = H;
  h.width = W;
  h.condition_channels = {"background", "tumor", "brain"};
  h.image_channels = {"t1", "flair"};
  return h;
}

// Sample i: conditions mixing exact 0/1 with arbitrary [0, 1] values, images in [-1, 1] plus a few z-scores.
struct Sample {
  std::vector<float> condition, image;
  SampleInfo info;
};
Sample make_sample(int i) {
  Sample s;
  const kern::PhiloxKey key = kern::philox_key(77);
  s.condition.resize(CC * H * W);
  s.image.resize(CM * H * W);
  for (size_t k = 0; k < s.condition.size(); ++k) {
    const float u = kern::uniform01(kern::philox_word(key, 1000 * i, k));
    s.condition[k] = k % 3 == 0 ? u : (u < 0.5f ? 0.0f : 1.0f);
  }
  for (size_t k = 0; k < s.image.size(); ++k)
    s.image[k] = 2.0f * kern::uniform01(kern::philox_word(key, 1000 * i + 500, k)) - 1.0f;
  s.image[0] = -1.0f;
  s.image[1] = 1.0f;
  s.image[2] = 7.3f;                 // a z-score
  s.image[3] = 1e-6f;                // float16 subnormal
  s.image[4] = 1.0f + 0x1p-11f;      // halfway cases: ties go to even
  s.image[5] = -(1.0f + 3 * 0x1p-11f);
  s.image[6] = 65504.0f;             // float16's largest
  s.info = {"subj-" + std::to_string(i / 2), 40 + i, i == 4 ? Split::test : (i == 3 ? Split::val : Split::train),
            i % 2 ? 0b01u : 0b11u};
  return s;
}

std::string write_shard(const ScratchDir& dir, int n, ImageEncoding enc = ImageEncoding::f16, const std::string& name = "a.shard") {
  const std::string path = dir.file(name);
  ShardWriter w(path, test_header(), enc);
  for (int i = 0; i < n; ++i) {
    const Sample s = make_sample(i);
    w.add(s.condition.data(), s.image.data(), s.info);
  }
  w.finish();
  return path;
}

uint64_t u64_at(const std::vector<char>& bytes, size_t off) {
  uint64_t v;
  std::memcpy(&v, bytes.data() + off, 8);
  return v;
}

}  // namespace

TEST_CASE("shard: round trip keeps header fields and samples within the quantization bounds") {
  ScratchDir dir("shard_roundtrip");
  const std::string path = write_shard(dir, 5);
  CHECK(dir.entries() == 1);  // neither the atomic writer's temporary nor the spool is left behind
  auto shard = Shard::open(path);
  const ShardHeader& h = shard->header();
  CHECK(h.site == "site-A");
  CHECK(h.height == H);
  CHECK(h.width == W);
  CHECK(h.condition_channels == test_header().condition_channels);
  CHECK(h.image_channels == test_header().image_channels);
  CHECK(shard->path() == path);
  CHECK(shard->image_encoding() == ImageEncoding::f16);
  REQUIRE(shard->size() == 5);
  std::vector<float> cond(CC * H * W), img(CM * H * W);
  for (int i = 0; i < 5; ++i) {
    const Sample s = make_sample(i);
    CHECK(h.samples[i].subject == s.info.subject);
    CHECK(h.samples[i].slice == s.info.slice);
    CHECK(h.samples[i].split == s.info.split);
    CHECK(h.samples[i].available == s.info.available);
    shard->read_condition(i, cond.data());
    shard->read_image(i, img.data());
    for (size_t k = 0; k < cond.size(); ++k) {
      if (s.condition[k] == 0.0f || s.condition[k] == 1.0f)
        REQUIRE(cond[k] == s.condition[k]);  // one-hot maps are exact
      else
        REQUIRE(std::fabs(cond[k] - s.condition[k]) <= 1.0f / 510.0f + 1e-7f);
    }
    for (size_t k = 0; k < img.size(); ++k) {
      const float v = s.image[k];
      // float16 keeps 11 significant bits: half an ulp is 2^-12 on [0.5, 1], relative 2^-11 elsewhere.
      REQUIRE(std::fabs(img[k] - v) <= std::max(std::fabs(v) * 0x1p-11f, 0x1p-25f));
      REQUIRE(img[k] == f16_to_float(float_to_f16(v)));  // vector and scalar paths agree
      if (std::fabs(v) <= 1.0f) REQUIRE(std::fabs(img[k] - v) <= 0x1p-12f);
    }
    CHECK(img[0] == -1.0f);
    CHECK(img[1] == 1.0f);
    CHECK(img[4] == 1.0f);
    CHECK(img[5] == -(1.0f + 4 * 0x1p-11f));
    CHECK(img[6] == 65504.0f);
  }
}

TEST_CASE("shard: float32 images round-trip exactly and sections are 64-byte aligned") {
  ScratchDir dir("shard_f32");
  const std::string path = write_shard(dir, 3, ImageEncoding::f32);
  auto shard = Shard::open(path);
  CHECK(shard->image_encoding() == ImageEncoding::f32);
  std::vector<float> img(CM * H * W);
  for (int i = 0; i < 3; ++i) {
    shard->read_image(i, img.data());
    CHECK(img == make_sample(i).image);
  }
  const std::vector<char> bytes = read_bytes(path);
  CHECK(std::memcmp(bytes.data(), "ASYNSHRD", 8) == 0);
  const uint64_t data_offset = u64_at(bytes, 24), stride = u64_at(bytes, 32);
  CHECK(data_offset % 64 == 0);
  CHECK(stride % 64 == 0);
  CHECK(stride == 448 + 1152);  // 3*140 u8 -> 448 and 2*140 f32 -> 1152, each padded to 64
  CHECK(bytes.size() == data_offset + 3 * stride + 4);
  // f16 halves the image section
  auto half = Shard::open(write_shard(dir, 3, ImageEncoding::f16, "h.shard"));
  CHECK(read_bytes(half->path()).size() == data_offset + 3 * (448 + 576) + 4);
}

TEST_CASE("shard: windows crop and mirror a plane") {
  ScratchDir dir("shard_window");
  auto shard = Shard::open(write_shard(dir, 2));
  std::vector<float> full(CC * H * W), win(4 * 5);
  shard->read_condition(1, full.data());
  shard->read_condition_plane(1, 2, Shard::Window{3, 6, 4, 5, true}, win.data());
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 5; ++c) REQUIRE(win[r * 5 + c] == full[2 * H * W + (3 + r) * W + (6 + 4 - c)]);
  CHECK_THROWS_AS(shard->read_image_plane(1, 0, Shard::Window{7, 0, 4, 5, false}, win.data()), ValueError);
  CHECK_THROWS_AS(shard->read_image_plane(2, 0, Shard::Window{}, full.data()), ValueError);
  CHECK_THROWS_AS(shard->read_condition_plane(0, 3, Shard::Window{}, full.data()), ValueError);
}

TEST_CASE("shard: a flipped byte in the header or the data is refused by the checksum") {
  ScratchDir dir("shard_flip");
  const std::string path = write_shard(dir, 4);
  const std::vector<char> good = read_bytes(path);
  const uint64_t data_offset = u64_at(good, 24);
  for (size_t at : {size_t(70), size_t(data_offset + 1000)}) {  // inside the site name; inside sample data
    std::vector<char> bad = good;
    bad[at] ^= 0x10;
    write_bytes(path, bad);
    const std::string e = error_message<FormatError>([&] { Shard::open(path); });
    CHECK(contains_all(e, {path, "checksum mismatch", "asyndgan prepare"}));
  }
  // Without verification a data flip goes unnoticed (the caller chose speed), but the sample still decodes.
  std::vector<char> bad = good;
  bad[data_offset + 1000] ^= 0x10;
  write_bytes(path, bad);
  auto shard = Shard::open(path, /*verify_checksum=*/false);
  CHECK(shard->size() == 4);
}

TEST_CASE("shard: a corrupt header is refused by its bounds checks even without the checksum") {
  ScratchDir dir("shard_header");
  const std::string path = write_shard(dir, 2);
  std::vector<char> bytes = read_bytes(path);
  const uint32_t huge = 0x7fffffff;
  std::memcpy(bytes.data() + 64, &huge, 4);  // the site name's length
  write_bytes(path, bytes);
  CHECK(contains_all(error_message<FormatError>([&] { Shard::open(path, false); }), {path, "corrupt header", "site name", "asyndgan prepare"}));

  bytes = read_bytes(write_shard(dir, 2));
  const uint64_t stride = 12345;
  std::memcpy(bytes.data() + 32, &stride, 8);  // sample stride
  write_bytes(path, bytes);
  CHECK(contains_all(error_message<FormatError>([&] { Shard::open(path, false); }), {path, "samples of 12345 bytes", "asyndgan prepare"}));
}

TEST_CASE("shard: a truncated file is refused with a clear error") {
  ScratchDir dir("shard_trunc");
  const std::string path = write_shard(dir, 3);
  const std::vector<char> good = read_bytes(path);
  for (bool verify : {true, false}) {
    write_bytes(path, good, good.size() - 100);
    CHECK(contains_all(error_message<FormatError>([&] { Shard::open(path, verify); }), {path, "truncated", "asyndgan prepare"}));
    write_bytes(path, good, 40);
    CHECK(contains_all(error_message<FormatError>([&] { Shard::open(path, verify); }), {path, "truncated"}));
    write_bytes(path, good, 3);
    CHECK(contains_all(error_message<FormatError>([&] { Shard::open(path, verify); }), {path, "too few"}));
  }
  CHECK_THROWS_AS(Shard::open(dir.file("missing.shard")), IOError);
}

TEST_CASE("shard: a wrong magic or a newer format version is refused") {
  ScratchDir dir("shard_magic");
  const std::string path = write_shard(dir, 1);
  const std::vector<char> good = read_bytes(path);
  std::vector<char> bad = good;
  bad[0] = 'X';
  write_bytes(path, bad);
  CHECK(contains_all(error_message<FormatError>([&] { Shard::open(path); }), {path, "not an asyndgan shard", "asyndgan prepare"}));

  bad = good;
  const uint32_t newer = kShardVersion + 1;
  std::memcpy(bad.data() + 8, &newer, 4);
  write_bytes(path, bad);
  CHECK(contains_all(error_message<FormatError>([&] { Shard::open(path); }),
                     {path, "format version " + std::to_string(newer), "upgrade asyndgan", "asyndgan prepare"}));
}

TEST_CASE("shard: the writer refuses values it cannot store faithfully") {
  ScratchDir dir("shard_values");
  Sample s = make_sample(0);
  {
    ShardWriter w(dir.file("x.shard"), test_header());
    s.condition[5] = 1.5f;
    CHECK(contains_all(error_message<ValueError>([&] { w.add(s.condition.data(), s.image.data(), s.info); }), {"x.shard", "outside [0, 1]"}));
    s.condition[5] = 0.0f;
    s.image[9] = NAN;
    CHECK_THROWS_AS(w.add(s.condition.data(), s.image.data(), s.info), ValueError);
    s.image[9] = 1e6f;  // beyond float16
    CHECK(contains_all(error_message<ValueError>([&] { w.add(s.condition.data(), s.image.data(), s.info); }), {"ImageEncoding::f32"}));
    s.image[9] = 0.0f;
    s.info.available = 0b100;  // only two image channels
    CHECK_THROWS_AS(w.add(s.condition.data(), s.image.data(), s.info), ValueError);
  }  // never finished: nothing is written
  CHECK(dir.entries() == 0);
  ShardHeader h = test_header();
  h.samples.push_back({});
  CHECK_THROWS_AS(ShardWriter(dir.file("y.shard"), h), ValueError);
}

TEST_CASE("shard: split names") {
  CHECK(std::string(split_name(Split::train)) == "train");
  CHECK(std::string(split_name(Split::val)) == "val");
  CHECK(std::string(split_name(Split::test)) == "test");
}

TEST_CASE("shard: any single corrupted byte before the data is refused or harmless, never a crash") {
  ScratchDir dir("shard_fuzz");
  const std::string path = write_shard(dir, 3);
  const std::vector<char> good = read_bytes(path);
  const uint64_t data_offset = u64_at(good, 24);
  int refused = 0, opened = 0;
  std::vector<float> cond(CC * H * W), img(CM * H * W);
  for (size_t at = 0; at < data_offset; ++at)
    for (char value : {char(0xff), char(good[at] ^ 0x01), char(0x00)}) {
      if (value == good[at]) continue;
      std::vector<char> bad = good;
      bad[at] = value;
      write_bytes(path, bad);
      try {
        auto shard = Shard::open(path, /*verify_checksum=*/false);
        for (int64_t i = 0; i < shard->size(); ++i) {  // whatever opens must decode inside the file
          shard->read_condition(i, cond.data());
          shard->read_image(i, img.data());
        }
        ++opened;
      } catch (const FormatError&) {
        ++refused;
      }
      CHECK_THROWS_AS(Shard::open(path), FormatError);  // and the checksum catches every one of them
    }
  CHECK(refused > 0);
  CHECK(opened > 0);  // e.g. a changed letter of a subject id
}
