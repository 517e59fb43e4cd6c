// CRC-32C (Castagnoli), the checksum of TFRecord framing in TensorBoard event files; a different
// polynomial from the zlib/PNG CRC-32 in checksum.h.
#pragma once
#include <cstddef>
#include <cstdint>

namespace asyndgan {

// Continues a CRC over more bytes: crc32c_update(crc32c_update(0, a), b) == crc32c of a followed by b.
uint32_t crc32c_update(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(const void* data, size_t n) { return crc32c_update(0, data, n); }
namespace detail {
uint32_t crc32c_portable(uint32_t crc, const void* data, size_t n);  // the table path, whatever the CPU (for tests)
}
// TFRecord's "masked" CRC, rotated and offset so a CRC stored inside checksummed data stays unlikely
// to look like a valid CRC of it.
inline uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

}  // namespace asyndgan
