// CRC-32 (IEEE 802.3, the zlib / PNG polynomial) for checkpoint and shard integrity checks.
#pragma once
#include <cstddef>
#include <cstdint>

namespace asyndgan {

// Continues a CRC over more bytes: crc32_update(crc32_update(0, a), b) == crc32 of a followed by b.
uint32_t crc32_update(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32(const void* data, size_t n) { return crc32_update(0, data, n); }

}  // namespace asyndgan
