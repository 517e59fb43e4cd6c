// Forged shards for the tests of what a reader refuses: bytes edited in place and the checksum recomputed,
// as a shard of an older version or a deliberate forgery would carry a valid one.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#include "engine/file_test_util.h"
#include "engine/io/checksum.h"

namespace asyndgan::test {

// Replaces the first occurrence of `from` in the shard at `path` by `to` (same length) and rewrites the
// trailing CRC-32. False when `from` does not occur.
inline bool forge_shard_text(const std::string& path, const std::string& from, const std::string& to) {
  std::vector<char> b = read_bytes(path);
  auto it = std::search(b.begin(), b.end(), from.begin(), from.end());
  if (it == b.end() || from.size() != to.size()) return false;
  std::copy(to.begin(), to.end(), it);
  const uint32_t crc = crc32(b.data(), b.size() - 4);
  std::memcpy(b.data() + b.size() - 4, &crc, 4);
  write_bytes(path, b);
  return true;
}

// Sets element `element` of image channel `channel` of sample 0 (a float16 shard) to the float16 `bits`
// (0x7E00: NaN, 0x7C00: +Inf) and rewrites the trailing CRC-32.
inline void forge_shard_image_f16(const std::string& path, int64_t channel, int64_t element, uint16_t bits) {
  std::vector<char> b = read_bytes(path);
  uint64_t data_offset = 0;
  std::memcpy(&data_offset, b.data() + 24, 8);  // the preamble: magic, version, flags, header_bytes, data_offset
  // The header after the preamble: site, height, width, then the condition channels, whose count sizes the
  // condition block that precedes the image of each sample.
  const char* p = b.data() + 64;
  uint32_t n = 0;
  std::memcpy(&n, p, 4);
  p += 4 + n;
  int64_t h = 0, w = 0;
  std::memcpy(&h, p, 8);
  std::memcpy(&w, p + 8, 8);
  p += 16;
  uint32_t cc = 0;
  std::memcpy(&cc, p, 4);
  const uint64_t plane = static_cast<uint64_t>(h * w), condition_bytes = (plane * cc + 63) / 64 * 64;
  const uint64_t at = data_offset + condition_bytes + 2 * (static_cast<uint64_t>(channel) * plane + static_cast<uint64_t>(element));
  std::memcpy(b.data() + at, &bits, 2);
  const uint32_t crc = crc32(b.data(), b.size() - 4);
  std::memcpy(b.data() + b.size() - 4, &crc, 4);
  write_bytes(path, b);
}

}  // namespace asyndgan::test
