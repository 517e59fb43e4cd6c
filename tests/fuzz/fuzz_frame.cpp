// libFuzzer target for what a peer's bytes reach first: the frame decoder and, for every frame it yields, the
// message decoder of that direction. The first input byte picks the direction (bit 0), the wire dtype (bits 1-2)
// and whether the run id is still open (bit 3, as before Hello); the rest is the byte stream, fed in pieces
// whose sizes the stream's own bytes pick. Anything but a FormatError (FrameError included) is a finding.
#include <cstddef>
#include <cstdint>
#include <span>
#include "dist/frame.h"
#include "dist/messages.h"

using namespace asyndgan;
using namespace asyndgan::dist;

namespace {

void decode(std::span<const uint8_t> message, bool to_site, WireDtype wire) {
  try {
    if (to_site) (void)decode_to_site(message, wire);
    else (void)decode_to_central(message, wire);
  } catch (const FormatError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const bool to_site = mode & 1;
  const auto wire = static_cast<WireDtype>(((mode >> 1) & 3) % 3);
  if (mode & 16) {
    decode(std::span<const uint8_t>(data + 1, size - 1), to_site, wire);
    return 0;
  }
  FrameRules rules{};
  rules.version = kProtocolVersion;
  if (!(mode & 8)) rules.run_id = RunId{};  // all zeros, as an --insecure run's
  rules.allowed_types = to_site ? 0b110100u : 0b101011u;
  rules.max_payload_bytes = 1 << 20;
  FrameReader reader(rules);
  std::span<const uint8_t> rest(data + 1, size - 1);
  try {
    while (!rest.empty()) {
      const size_t piece = std::min<size_t>(rest.size(), 1 + rest[0] % 64);
      const size_t used = reader.feed(rest.first(piece));
      rest = rest.subspan(used);
      if (auto f = reader.take()) decode(f->payload, to_site, wire);
    }
  } catch (const FormatError&) {
  }
  return 0;
}
