// CRC-32C test vectors and TensorBoard event files (apps/io/tensorboard.h): the bytes on disk, the
// read-back of scalars, and refusal of corrupt or truncated records.
#include <doctest/doctest.h>
#include <cstring>
#include <filesystem>
#include "base/error.h"
#include "engine/io/crc32c.h"
#include "apps/io/tensorboard.h"
#include "engine/file_test_util.h"

using namespace asyndgan;
using namespace asyndgan::test;

TEST_CASE("tensorboard: crc32c matches the Castagnoli test vectors") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  std::vector<unsigned char> b(32, 0);
  CHECK(crc32c(b.data(), b.size()) == 0x8A9136AAu);  // RFC 3720 B.4
  std::fill(b.begin(), b.end(), 0xFF);
  CHECK(crc32c(b.data(), b.size()) == 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) b[i] = static_cast<unsigned char>(i);
  CHECK(crc32c(b.data(), b.size()) == 0x46DD794Eu);
  CHECK(crc32c_update(crc32c("1234", 4), "56789", 5) == 0xE3069283u);
  CHECK(crc32c(nullptr, 0) == 0u);
}

TEST_CASE("tensorboard: the first record is the framed version event, byte for byte") {
  ScratchDir dir("tb_bytes");
  std::string path;
  {
    TensorBoardWriter w(dir.file("logs/run"));
    path = w.path();
  }
  const std::string name = std::filesystem::path(path).filename().string();
  CHECK(name.rfind("events.out.tfevents.", 0) == 0);
  CHECK(std::filesystem::path(path).parent_path() == std::filesystem::path(dir.file("logs/run")));
  const std::vector<char> bytes = read_bytes(path);
  // wall_time (tag 0x09 + 8 bytes), step 0 (0x10 0x00), file_version (0x1A, 13, "brain.Event:2").
  const uint64_t expected_len = 9 + 2 + 2 + 13;
  REQUIRE(bytes.size() == 8 + 4 + expected_len + 4);
  uint64_t len;
  uint32_t len_crc, data_crc;
  std::memcpy(&len, bytes.data(), 8);
  std::memcpy(&len_crc, bytes.data() + 8, 4);
  std::memcpy(&data_crc, bytes.data() + 12 + len, 4);
  CHECK(len == expected_len);
  auto mask = [](uint32_t c) { return ((c >> 15) | (c << 17)) + 0xA282EAD8u; };
  CHECK(len_crc == mask(crc32c(bytes.data(), 8)));
  CHECK(data_crc == mask(crc32c(bytes.data() + 12, len)));
  const char* d = bytes.data() + 12;
  CHECK(static_cast<unsigned char>(d[0]) == 0x09);
  double wall;
  std::memcpy(&wall, d + 1, 8);
  CHECK(wall > 1.5e9);
  CHECK(d[9] == 0x10);
  CHECK(d[10] == 0x00);
  CHECK(d[11] == 0x1A);
  CHECK(d[12] == 13);
  CHECK(std::string(d + 13, 13) == "brain.Event:2");
}

TEST_CASE("tensorboard: scalars read back with steps, flushed after each step") {
  ScratchDir dir("tb_scalars");
  TensorBoardWriter w(dir.dir.string());
  w.write_scalars(1, {{"loss/G", 1.5f}, {"loss/D_site0", 0.25f}});
  // Flushed: a reader sees step 1 while the writer is still open.
  std::vector<TensorBoardScalar> s = read_tensorboard_scalars(w.path());
  REQUIRE(s.size() == 2);
  w.write_scalars(2, {{"loss/G", -3.0f}});
  w.write_scalars(1LL << 40, {{"images_per_s", 123.456f}});
  s = read_tensorboard_scalars(w.path());
  REQUIRE(s.size() == 4);
  CHECK(s[0].tag == "loss/G");
  CHECK(s[0].value == 1.5f);
  CHECK(s[0].step == 1);
  CHECK(s[1].tag == "loss/D_site0");
  CHECK(s[1].value == 0.25f);
  CHECK(s[2].step == 2);
  CHECK(s[2].value == -3.0f);
  CHECK(s[3].step == (1LL << 40));
  CHECK(s[3].value == 123.456f);
  CHECK(s[3].wall_time >= s[0].wall_time);

  // A second writer in the same directory (a resumed run) gets its own file.
  TensorBoardWriter w2(dir.dir.string());
  CHECK(w2.path() != w.path());
  CHECK(read_tensorboard_scalars(w2.path()).empty());
}

TEST_CASE("tensorboard: corrupt or truncated records are refused with their offset") {
  ScratchDir dir("tb_corrupt");
  std::string path;
  {
    TensorBoardWriter w(dir.dir.string());
    w.write_scalars(7, {{"a", 1.0f}});
    path = w.path();
  }
  const std::vector<char> good = read_bytes(path);
  const size_t second = 8 + 4 + 26 + 4;  // start of the scalar record
  std::vector<char> bad = good;
  bad[second + 12 + 3] ^= 0x01;  // inside the event data
  write_bytes(path, bad);
  CHECK(contains_all(error_message<FormatError>([&] { read_tensorboard_scalars(path); }),
                     {path, "byte " + std::to_string(second), "data's CRC-32C"}));
  bad = good;
  bad[second + 1] ^= 0x01;  // the length
  write_bytes(path, bad);
  CHECK(contains_all(error_message<FormatError>([&] { read_tensorboard_scalars(path); }), {"length's CRC-32C"}));
  write_bytes(path, good, good.size() - 2);
  CHECK(contains_all(error_message<FormatError>([&] { read_tensorboard_scalars(path); }), {path, "truncated"}));
  write_bytes(path, good, 0);
  CHECK(contains_all(error_message<FormatError>([&] { read_tensorboard_scalars(path); }), {"empty"}));
  write_bytes(path, std::vector<char>(good.begin() + second, good.end()));
  CHECK(contains_all(error_message<FormatError>([&] { read_tensorboard_scalars(path); }), {"version event"}));
}
