// Frame encoding, and the incremental decoder that checks each field as soon as it has arrived.
#include "dist/frame.h"
#include <algorithm>
#include <cstring>
#include "dist/compress.h"
#include "engine/io/crc32c.h"

namespace asyndgan::dist {

namespace {

constexpr uint8_t kMagic[4] = {'A', 'D', 'G', 'F'};

template <class T>
void put(uint8_t* at, T v) {  // little-endian hosts only (static_assert in messages.cpp)
  std::memcpy(at, &v, sizeof v);
}
template <class T>
T get(const uint8_t* at) {
  T v;
  std::memcpy(&v, at, sizeof v);
  return v;
}

std::array<uint8_t, kFrameHeaderBytes> header_bytes(const FrameHeader& h) {
  std::array<uint8_t, kFrameHeaderBytes> b{};
  std::memcpy(b.data(), kMagic, 4);
  b[4] = h.version;
  b[5] = h.type;
  b[6] = h.flags;
  b[7] = 0;
  std::memcpy(b.data() + 8, h.run_id.data(), 16);
  put<uint32_t>(b.data() + 24, h.site);
  put<int64_t>(b.data() + 28, h.step);
  put<uint64_t>(b.data() + 36, h.payload_bytes);
  return b;
}

}  // namespace

std::string run_id_hex(const RunId& id) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : id) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

void write_frame(FrameHeader h, std::span<const uint8_t> payload, bool zstd,
                 const std::function<void(std::span<const uint8_t>)>& sink) {
  std::vector<uint8_t> packed;
  if (zstd) {
    packed = zstd_compress(payload);
    payload = packed;
    h.flags |= kFrameZstd;
  } else {
    h.flags &= static_cast<uint8_t>(~kFrameZstd);
  }
  h.payload_bytes = payload.size();
  const auto head = header_bytes(h);
  uint32_t crc = crc32c_update(0, head.data(), head.size());
  crc = crc32c_update(crc, payload.data(), payload.size());
  uint8_t tail[kFrameTrailerBytes];
  put<uint32_t>(tail, crc);
  sink(head);
  constexpr size_t kChunk = size_t{1} << 20;  // bounded writes: a TLS record layer and poll() prefer them
  for (size_t at = 0; at < payload.size(); at += kChunk) sink(payload.subspan(at, std::min(kChunk, payload.size() - at)));
  sink(std::span<const uint8_t>(tail, kFrameTrailerBytes));
}

std::vector<uint8_t> encode_frame(const FrameHeader& header, std::span<const uint8_t> payload, bool zstd) {
  std::vector<uint8_t> out;
  write_frame(header, payload, zstd, [&](std::span<const uint8_t> c) { out.insert(out.end(), c.begin(), c.end()); });
  return out;
}

FrameReader::FrameReader(FrameRules rules) : rules_(std::move(rules)) {}

void FrameReader::set_rules(const FrameRules& rules) { rules_ = rules; }

void FrameReader::check_header() {
  const uint8_t* b = head_.data();
  if (std::memcmp(b, kMagic, 4) != 0)
    throw FrameError("magic", "frame: wrong magic (not an asyndgan frame: another protocol, or a plaintext peer on a TLS port?)");
  h_.version = b[4];
  h_.type = b[5];
  h_.flags = b[6];
  std::memcpy(h_.run_id.data(), b + 8, 16);
  h_.site = get<uint32_t>(b + 24);
  h_.step = get<int64_t>(b + 28);
  h_.payload_bytes = get<uint64_t>(b + 36);
  if (h_.version != rules_.version)
    throw FrameError("version", msg("frame: protocol version ", int(h_.version), "; this build speaks ", int(rules_.version),
                                    ": run the same asyndgan version at the central node and every site"));
  if (h_.type >= 32 || !((rules_.allowed_types >> h_.type) & 1u))
    throw FrameError("type", msg("frame: message type ", int(h_.type), " may not travel in this direction"));
  if ((h_.flags & ~kFrameZstd) != 0 || b[7] != 0)
    throw FrameError("flags", msg("frame: reserved flag bits set (flags ", int(h_.flags), ", reserved ", int(b[7]), ")"));
  if (rules_.run_id && h_.run_id != *rules_.run_id)
    throw FrameError("run id", msg("frame: wrong run id: got ", run_id_hex(h_.run_id), ", this run is ",
                                   run_id_hex(*rules_.run_id), " (a peer of another run, or another CA)"));
  if (rules_.site && h_.site != *rules_.site)
    throw FrameError("site", msg("frame: site id ", h_.site, " on the link of site id ", *rules_.site));
  if (h_.payload_bytes > rules_.max_payload_bytes)
    throw FrameError("length", msg("frame: payload length ", h_.payload_bytes, " bytes exceeds this run's largest message (",
                                   rules_.max_payload_bytes, " bytes)"));
  running_crc_ = crc32c_update(0, head_.data(), head_.size());
}

void FrameReader::finish() {
  const uint32_t want = get<uint32_t>(crc_.data());
  if (want != running_crc_)
    throw FrameError("crc", msg("frame: bad CRC32C (", want, " stated, ", running_crc_, " computed): the bytes were damaged"));
  Frame f;
  f.header = h_;
  f.payload = (h_.flags & kFrameZstd) ? zstd_decompress(payload_, rules_.max_payload_bytes) : std::move(payload_);
  done_ = std::move(f);
  payload_ = {};
  head_have_ = crc_have_ = 0;
}

size_t FrameReader::feed(std::span<const uint8_t> bytes) {
  if (failed_) throw FrameError("stream", "frame: the stream failed earlier; close the connection");
  if (done_) return 0;  // take() the frame first
  size_t used = 0;
  try {
    while (used < bytes.size() && !done_) {
      std::span<const uint8_t> rest = bytes.subspan(used);
      if (head_have_ < kFrameHeaderBytes) {
        const size_t n = std::min(rest.size(), kFrameHeaderBytes - head_have_);
        std::memcpy(head_.data() + head_have_, rest.data(), n);
        head_have_ += n;
        used += n;
        if (head_have_ == kFrameHeaderBytes) check_header();
      } else if (payload_.size() < h_.payload_bytes) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(rest.size(), h_.payload_bytes - payload_.size()));
        payload_.insert(payload_.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n));
        running_crc_ = crc32c_update(running_crc_, rest.data(), n);
        used += n;
      } else {
        const size_t n = std::min(rest.size(), kFrameTrailerBytes - crc_have_);
        std::memcpy(crc_.data() + crc_have_, rest.data(), n);
        crc_have_ += n;
        used += n;
        if (crc_have_ == kFrameTrailerBytes) finish();
      }
    }
    // A header that arrives with an empty payload and a complete trailer in the same call is handled above; one
    // whose payload is empty still waits for its trailer.
  } catch (...) {
    failed_ = true;
    throw;
  }
  return used;
}

std::optional<Frame> FrameReader::take() {
  std::optional<Frame> f = std::move(done_);
  done_.reset();
  return f;
}

size_t FrameReader::bytes_wanted() const {
  if (head_have_ < kFrameHeaderBytes) return kFrameHeaderBytes - head_have_;
  const uint64_t payload_left = h_.payload_bytes - payload_.size();
  return static_cast<size_t>(std::min<uint64_t>(payload_left + (kFrameTrailerBytes - crc_have_), SIZE_MAX));
}

}  // namespace asyndgan::dist
