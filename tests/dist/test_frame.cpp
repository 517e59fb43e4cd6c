// Frames: round trips through every split of the byte stream, each header field refused by name, a length
// beyond the run's largest message refused before any payload is stored, bounded zstd.
#include <doctest/doctest.h>
#include <cstring>
#include <random>
#include "dist/compress.h"
#include "dist/frame.h"

using namespace asyndgan;
using namespace asyndgan::dist;

namespace {

RunId run_id() {
  RunId r{};
  for (size_t i = 0; i < r.size(); ++i) r[i] = static_cast<uint8_t>(i * 17 + 3);
  return r;
}

FrameHeader header(uint8_t type = 3) {
  FrameHeader h{};
  h.version = 2;
  h.type = type;
  h.run_id = run_id();
  h.site = 77;
  h.step = 12345;
  return h;
}

FrameRules rules(uint64_t max = 1 << 20) {
  FrameRules r{};
  r.version = 2;
  r.run_id = run_id();
  r.site = 77;
  r.allowed_types = (1u << 3) | (1u << 5);
  r.max_payload_bytes = max;
  return r;
}

std::vector<uint8_t> payload(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> p(n);
  for (auto& b : p) b = static_cast<uint8_t>(rng() % 7);  // compressible, not constant
  return p;
}

// Feeds `bytes` in pieces of the sizes `split` draws, returning the frames decoded.
std::vector<Frame> decode_all(const std::vector<uint8_t>& bytes, FrameReader& r, const std::function<size_t()>& split) {
  std::vector<Frame> out;
  for (size_t at = 0; at < bytes.size();) {
    const size_t n = std::min(split(), bytes.size() - at);
    size_t used = 0;
    while (used < n) {
      used += r.feed(std::span<const uint8_t>(bytes.data() + at + used, n - used));
      if (auto f = r.take()) out.push_back(std::move(*f));
    }
    at += n;
  }
  return out;
}

// The field a FrameError names when `bytes` is fed whole.
std::string refused_field(const std::vector<uint8_t>& bytes, const FrameRules& r = rules()) {
  FrameReader reader(r);
  try {
    reader.feed(bytes);
  } catch (const FrameError& e) {
    return e.field();
  }
  return "";
}

}  // namespace

TEST_CASE("frame: frames round-trip whatever the split of the stream, header fields intact") {
  std::vector<uint8_t> stream;
  const std::vector<std::vector<uint8_t>> payloads = {payload(0), payload(1), payload(1000, 2), payload(70000, 3)};
  for (size_t i = 0; i < payloads.size(); ++i) {
    const auto f = encode_frame(header(i % 2 ? 3 : 5), payloads[i], i == 3);
    CHECK(f.size() >= kFrameHeaderBytes + kFrameTrailerBytes);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  std::mt19937 rng(9);
  for (const auto& split : std::vector<std::function<size_t()>>{[] { return size_t{1}; }, [&] { return size_t{1} + rng() % 97; },
                                                                [&] { return stream.size(); }}) {
    FrameReader r(rules());
    const std::vector<Frame> frames = decode_all(stream, r, split);
    REQUIRE(frames.size() == payloads.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      CHECK(frames[i].payload == payloads[i]);
      CHECK(frames[i].header.step == 12345);
      CHECK(frames[i].header.site == 77);
      CHECK(frames[i].header.run_id == run_id());
      CHECK(frames[i].header.type == (i % 2 ? 3 : 5));
    }
  }
}

TEST_CASE("frame: each wrong header field is refused by name") {
  const auto good = encode_frame(header(), payload(100));
  CHECK(refused_field(good).empty());
  auto flip = [&](size_t at, uint8_t x) {
    auto b = good;
    b[at] ^= x;
    return b;
  };
  CHECK(refused_field(flip(0, 1)) == "magic");
  CHECK(refused_field(flip(4, 1)) == "version");
  CHECK(refused_field(encode_frame(header(4), payload(10))) == "type");  // a type of the other direction
  CHECK(refused_field(flip(6, 2)) == "flags");
  CHECK(refused_field(flip(7, 1)) == "flags");
  CHECK(refused_field(flip(8, 1)) == "run id");
  CHECK(refused_field(flip(24, 1)) == "site");
  CHECK(refused_field(flip(kFrameHeaderBytes + 5, 1)) == "crc");  // payload damaged
  CHECK(refused_field(flip(good.size() - 1, 0x80)) == "crc");     // CRC damaged
  CHECK(refused_field(flip(30, 1)) == "crc");                     // the step: only the CRC catches it
  // Before Hello the run id and site are open.
  FrameRules open = rules();
  open.run_id.reset();
  open.site.reset();
  CHECK(refused_field(flip(8, 1), open) == "crc");
  auto other_run = header();
  other_run.run_id[0] ^= 1;
  other_run.site = 5;
  CHECK(refused_field(encode_frame(other_run, payload(10)), open).empty());
  FrameError e("run id", "frame: wrong run id");
  CHECK(std::string(e.what()).find("run id") != std::string::npos);
}

TEST_CASE("frame: a length beyond the run's largest message is refused with the header, before any payload") {
  auto f = encode_frame(header(), payload(64));
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(f.data() + 36, &huge, 8);
  FrameReader r(rules());
  // Exactly the header: the reader refuses it at once rather than waiting for 1 TiB that would follow.
  CHECK_THROWS_WITH_AS(r.feed(std::span<const uint8_t>(f.data(), kFrameHeaderBytes)), doctest::Contains("1099511627776"), FrameError);
  CHECK_THROWS_AS(r.feed(f), FrameError);  // and stays failed
  // Within the rules, a 5 GiB frame is accepted in its header: nothing is reserved ahead of the bytes.
  FrameRules big = rules(uint64_t{6} << 30);
  FrameReader ok(big);
  const uint64_t five = uint64_t{5} << 30;
  std::memcpy(f.data() + 36, &five, 8);
  CHECK(ok.feed(std::span<const uint8_t>(f.data(), kFrameHeaderBytes + 64)) == kFrameHeaderBytes + 64);
  CHECK(ok.bytes_wanted() == five - 64 + kFrameTrailerBytes);
  CHECK_FALSE(ok.take().has_value());
}

TEST_CASE("frame: a truncated frame stays incomplete and says how much it still needs") {
  const auto f = encode_frame(header(), payload(100));
  FrameReader r(rules());
  CHECK(r.feed(std::span<const uint8_t>(f.data(), 50)) == 50);
  CHECK_FALSE(r.take().has_value());
  CHECK(r.bytes_wanted() == f.size() - 50);
}

TEST_CASE("frame: zstd payloads round-trip, and a bomb or a corrupt stream is refused within the bound") {
  const auto p = payload(200000, 4);
  const auto z = encode_frame(header(), p, true);
  CHECK(z.size() < p.size() / 2);
  FrameReader r(rules());
  r.feed(z);
  CHECK(r.take()->payload == p);
  // 64 MiB of zeros compress to a few KiB; with a 64 KiB allowance the decompression stops at the bound.
  const std::vector<uint8_t> zeros(size_t{64} << 20, 0);
  const auto bomb = encode_frame(header(), zeros, true);
  CHECK(bomb.size() < (size_t{1} << 16));
  CHECK(refused_field(bomb, rules(1 << 16)) == "zstd");
  CHECK_THROWS_AS(zstd_decompress(zstd_compress(zeros), 1 << 16), FrameError);
  auto bad = zstd_compress(p);
  bad[bad.size() / 2] ^= 0xff;
  CHECK_THROWS_AS(zstd_decompress(bad, 1 << 20), FrameError);
  bad.resize(bad.size() / 3);
  CHECK_THROWS_AS(zstd_decompress(bad, 1 << 20), FrameError);
}
