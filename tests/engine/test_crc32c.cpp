// CRC-32C: the standard check values, and the SSE4.2 path equal to the table path on any length and split.
#include <doctest/doctest.h>
#include <random>
#include <string>
#include <vector>
#include "engine/io/crc32c.h"

using namespace asyndgan;

TEST_CASE("crc32c: RFC 3720 check values, and the hardware path equals the table path") {
  const std::string digits = "123456789";
  CHECK(crc32c(digits.data(), digits.size()) == 0xE3069283u);
  CHECK(detail::crc32c_portable(0, digits.data(), digits.size()) == 0xE3069283u);
  const std::vector<unsigned char> zeros(32, 0), ones(32, 0xff);
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
  CHECK(crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
  std::mt19937 rng(3);
  std::vector<unsigned char> buf(10007);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{63}, size_t{4097}, buf.size()}) {
    CHECK(crc32c(buf.data(), n) == detail::crc32c_portable(0, buf.data(), n));
    const size_t cut = n / 3;  // continued across chunks
    CHECK(crc32c_update(crc32c(buf.data(), cut), buf.data() + cut, n - cut) == crc32c(buf.data(), n));
  }
}
