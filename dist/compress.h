// zstd compression of frame payloads (dist.compress = "zstd"), through Debian's libzstd.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace asyndgan::dist {

std::vector<uint8_t> zstd_compress(std::span<const uint8_t> data, int level = 3);
// Streams the decompression and never holds more than max_bytes: a frame that would decompress to more (a zip
// bomb), or a corrupt stream, is a FrameError naming the field "zstd".
std::vector<uint8_t> zstd_decompress(std::span<const uint8_t> data, uint64_t max_bytes);

}  // namespace asyndgan::dist
