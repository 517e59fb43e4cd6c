// The Channel between the central node and its sites: typed messages in, typed messages out, bytes counted.
// Every channel (in-process, TCP, NCCL) moves only what dist/messages.h defines. A byte channel (in-process,
// TCP) derives from the Byte* ends below, which encode in the run's wire dtype, decode and count, so it only
// carries byte strings; Central and Site never change with the channel.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <mutex>
#include <vector>
#include "dist/messages.h"

namespace asyndgan::dist {

// Bytes and message counts per site and message type (failure flows both ways; the others one way each).
struct Traffic {
  std::vector<std::array<uint64_t, kMessageTypes>> bytes, messages;  // [site][type]
  void add(size_t site, MessageType type, uint64_t n);  // one message of n bytes
  uint64_t site_bytes(int64_t site) const;       // both directions
  uint64_t type_bytes(MessageType t) const;      // all sites
  uint64_t total_bytes() const;
};

using Timeout = std::chrono::milliseconds;

// A link that has ended under the role (the peer closed it, fell silent, sent a bad frame): `site` is the site's
// index at the central node's end, -1 at a site's own end. The message says why. A run may go on without the
// site, and the site may connect again (CentralChannel::rejoined, TcpSiteChannel::reconnect).
struct LinkLost : Error {
  LinkLost(int64_t site_index, const std::string& what) : Error(what), site(site_index) {}
  int64_t site;
};
inline constexpr Timeout kWaitLong{std::chrono::hours(24 * 365)};

// A message from site `site` (receive_any).
struct Incoming {
  int64_t site = 0;
  ToCentral message;
};

// The central node's end: one link to each site j in [0, num_sites()).
class CentralChannel {
 public:
  virtual ~CentralChannel() = default;
  virtual int64_t num_sites() const = 0;
  virtual void send(int64_t site, const ToSite& m) = 0;
  // Site j's next message; NetTimeout-like Error naming the site when none arrives within `timeout`, LinkLost
  // when its link has ended.
  virtual ToCentral receive(int64_t site, Timeout timeout) = 0;
  // The next message from whichever site sends first (ties in site order); Error after `timeout`. A site whose
  // link ended is reported once, as LinkLost, after the messages it sent before; later calls pass over it.
  virtual Incoming receive_any(Timeout timeout) = 0;
  // Ends the link to site j (after a Failure, a stop or a bad frame); its later sends and receives fail.
  virtual void close(int64_t site) = 0;
  virtual Traffic traffic() const = 0;  // everything this end sent and received
  // Floating tensors of the messages received from now on arrive on `device` (the host by default): the role
  // says where it computes, and the channel lands its tensors there its own way.
  virtual void receive_on(Device device) = 0;
  // Sites whose link ended and that have connected again since the last call, waiting up to `wait` for one:
  // each one's Hello and ConditionUpload are next from it. A channel whose links cannot end has none.
  virtual std::vector<int64_t> rejoined(Timeout /*wait*/) { return {}; }
};

// One message as a site's audit log records it: what crossed, when it was about, how many bytes, and the shape
// of every tensor in it ("synthetic bf16 [4, 4, 256, 256]").
struct AuditEntry {
  bool sent = false;  // sent by the site (else received)
  MessageType type = MessageType::hello;
  int64_t step = 0;
  uint64_t bytes = 0;  // the encoded message (a frame adds its 48-byte header and CRC; zstd may shrink it)
  std::vector<std::string> tensors;
};

// The audit record of a message of `bytes` encoded bytes (a byte channel's, or encoded_size for one that carries
// tensors).
template <class M>
AuditEntry audit_entry(bool sent, const M& message, uint64_t bytes, WireDtype wire);

// A site's end: one link to the central node.
class SiteChannel {
 public:
  virtual ~SiteChannel() = default;
  // Called for every message sent or received (the site's audit log), from the thread that sends or receives.
  std::function<void(const AuditEntry&)> on_message;
  virtual void send(const ToCentral& m) = 0;
  virtual ToSite receive(Timeout timeout) = 0;  // Error when nothing arrives within `timeout`
  virtual void close() = 0;
  virtual Traffic traffic() const = 0;  // one row (this site)
  virtual void receive_on(Device device) = 0;  // as CentralChannel::receive_on
};

// Byte channels: encode in `wire`, decode, count; an implementation carries byte strings. A device tensor goes
// out through pinned host memory (converted to the wire dtype on its device first), and a floating field
// received for a device role comes in through pinned memory and is converted to f32 on the device.
class ByteCentralChannel : public CentralChannel {
 public:
  explicit ByteCentralChannel(WireDtype wire) : wire_(wire) {}
  void send(int64_t site, const ToSite& m) override;
  ToCentral receive(int64_t site, Timeout timeout) override;
  Incoming receive_any(Timeout timeout) override;
  Traffic traffic() const override;
  void receive_on(Device device) override { landing_ = device; }

 protected:
  virtual void send_bytes(int64_t site, std::vector<uint8_t> bytes) = 0;
  virtual std::vector<uint8_t> receive_bytes(int64_t site, Timeout timeout) = 0;
  virtual std::pair<int64_t, std::vector<uint8_t>> receive_any_bytes(Timeout timeout) = 0;

 private:
  ToCentral decode_counted(int64_t site, const std::vector<uint8_t>& bytes);
  void count(int64_t site, std::span<const uint8_t> bytes);
  WireDtype wire_;
  Device landing_ = Device::cpu();
  mutable std::mutex mutex_;
  Traffic traffic_;
};

class ByteSiteChannel : public SiteChannel {
 public:
  explicit ByteSiteChannel(WireDtype wire) : wire_(wire) {}
  void send(const ToCentral& m) override;
  ToSite receive(Timeout timeout) override;
  Traffic traffic() const override;
  void receive_on(Device device) override { landing_ = device; }

 protected:
  virtual void send_bytes(std::vector<uint8_t> bytes) = 0;
  virtual std::vector<uint8_t> receive_bytes(Timeout timeout) = 0;

 private:
  WireDtype wire_;
  Device landing_ = Device::cpu();
  mutable std::mutex mutex_;
  Traffic traffic_{std::vector<std::array<uint64_t, kMessageTypes>>(1), std::vector<std::array<uint64_t, kMessageTypes>>(1)};
};

}  // namespace asyndgan::dist
