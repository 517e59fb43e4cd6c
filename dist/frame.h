// Frames: how a message crosses a byte stream. Header (44 bytes, little-endian): magic "ADGF" | u8 protocol
// version | u8 message type | u8 flags (bit 0: payload zstd-compressed) | u8 reserved (0) | run id (16 bytes) |
// u32 site id | i64 step | u64 payload length; then the payload; then a CRC32C over header and payload. The
// frame layer knows byte spans, not sockets or message structs, so it can be fuzzed on its own.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>
#include "base/error.h"

namespace asyndgan::dist {

inline constexpr size_t kFrameHeaderBytes = 44;
inline constexpr size_t kFrameTrailerBytes = 4;  // the CRC32C
inline constexpr uint8_t kFrameZstd = 1;          // flags bit 0

using RunId = std::array<uint8_t, 16>;
std::string run_id_hex(const RunId& id);

struct FrameHeader {
  uint8_t version = 0;
  uint8_t type = 0;   // dist/messages.h's MessageType, or a frame-only type (the link's heartbeat)
  uint8_t flags = 0;
  RunId run_id{};
  uint32_t site = 0;
  int64_t step = 0;
  uint64_t payload_bytes = 0;  // on the wire (compressed when flagged)
};

struct Frame {
  FrameHeader header;
  std::vector<uint8_t> payload;  // decompressed
};

// What the receiving end accepts; anything else is a FrameError naming the field.
struct FrameRules {
  uint8_t version = 0;
  std::optional<RunId> run_id;     // nullopt: any (not yet known)
  std::optional<uint32_t> site;    // nullopt: any
  uint32_t allowed_types = 0;      // bit t: type t may arrive in this direction
  uint64_t max_payload_bytes = 0;  // the largest legal message, before and after decompression
};

// A frame refused at `field` ("magic", "version", "type", "flags", "run id", "site", "length", "crc", "zstd").
class FrameError : public FormatError {
 public:
  FrameError(std::string field, const std::string& what) : FormatError(what), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// Header, payload (compressed first when `zstd`) and CRC, handed to `sink` in chunks (header, payload, CRC),
// so a payload of any size is written without a second copy of it.
void write_frame(FrameHeader header, std::span<const uint8_t> payload, bool zstd,
                 const std::function<void(std::span<const uint8_t>)>& sink);
std::vector<uint8_t> encode_frame(const FrameHeader& header, std::span<const uint8_t> payload, bool zstd = false);

// Decodes frames from bytes fed as they arrive, split anywhere. Every header field is checked the moment the
// header is complete, before any payload byte is stored: a length beyond the rules is refused at once. The
// payload buffer grows with the bytes that arrive, never ahead of them.
class FrameReader {
 public:
  explicit FrameReader(FrameRules rules);
  void set_rules(const FrameRules& rules);  // applies from the next frame's header
  // Consumes bytes up to the end of the current frame (returns how many); FrameError on a bad frame, after
  // which the reader is unusable (close the connection).
  size_t feed(std::span<const uint8_t> bytes);
  std::optional<Frame> take();  // the frame completed by feed, once
  size_t bytes_wanted() const;  // bytes still needed to complete the current frame (at least 1)

 private:
  void check_header();
  void finish();
  FrameRules rules_;
  std::array<uint8_t, kFrameHeaderBytes> head_{};
  size_t head_have_ = 0;
  FrameHeader h_{};
  std::vector<uint8_t> payload_;
  std::array<uint8_t, kFrameTrailerBytes> crc_{};
  size_t crc_have_ = 0;
  uint32_t running_crc_ = 0;
  std::optional<Frame> done_;
  bool failed_ = false;
};

}  // namespace asyndgan::dist
