// CRC-32C: the SSE4.2 crc32 instruction where the CPU has it (8 bytes per instruction: distributed-runtime frames
// carry megabytes per step), else one table lookup per byte (TensorBoard's few hundred bytes per step).
#include "engine/io/crc32c.h"
#include <array>
#include <cstring>

namespace asyndgan {
namespace {

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0x82F63B78u ^ (c >> 1) : c >> 1;  // reflected 0x1EDC6F41
    t[i] = c;
  }
  return t;
}

uint32_t crc_table(uint32_t c, const unsigned char* p, size_t n) {
  static const std::array<uint32_t, 256> table = make_table();
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc_sse42(uint32_t c, const unsigned char* p, size_t n) {
  uint64_t c64 = c;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
  }
  c = static_cast<uint32_t>(c64);
  for (; n > 0; --n, ++p) c = __builtin_ia32_crc32qi(c, *p);
  return c;
}

bool has_sse42() {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

}  // namespace

uint32_t crc32c_update(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  if (has_sse42()) return ~crc_sse42(~crc, p, n);
#endif
  return ~crc_table(~crc, p, n);
}

namespace detail {
uint32_t crc32c_portable(uint32_t crc, const void* data, size_t n) {
  return ~crc_table(~crc, static_cast<const unsigned char*>(data), n);
}
}  // namespace detail

}  // namespace asyndgan
