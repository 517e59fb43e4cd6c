// The Channel between the central node and its sites: typed messages in, typed messages out, bytes counted.
// Every channel (in-process, TCP, NCCL) moves only the bytes of dist/messages.h: the base classes encode,
// decode and count, an implementation only carries byte strings, so Central and Site never change with it.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <vector>
#include "dist/messages.h"

namespace asyndgan::dist {

// Bytes and message counts per site and message type (each type flows in one direction only).
struct Traffic {
  std::vector<std::array<uint64_t, kMessageTypes>> bytes, messages;  // [site][type]
  uint64_t site_bytes(int64_t site) const;       // both directions
  uint64_t type_bytes(MessageType t) const;      // all sites
  uint64_t total_bytes() const;
};

// The central node's end: one link to each site j in [0, num_sites()).
class CentralChannel {
 public:
  virtual ~CentralChannel() = default;
  virtual int64_t num_sites() const = 0;
  void send(int64_t site, const ToSite& m);
  ToCentral receive(int64_t site);  // blocks until site j's next message arrives
  Traffic traffic() const;          // everything this end sent and received

 protected:
  virtual void send_bytes(int64_t site, std::vector<uint8_t> bytes) = 0;
  virtual std::vector<uint8_t> receive_bytes(int64_t site) = 0;
  void count(int64_t site, std::span<const uint8_t> bytes);

 private:
  mutable std::mutex mutex_;
  Traffic traffic_;
};

// A site's end: one link to the central node.
class SiteChannel {
 public:
  virtual ~SiteChannel() = default;
  void send(const ToCentral& m);
  ToSite receive();  // blocks until the central node's next message arrives
  Traffic traffic() const;  // one row (this site)

 protected:
  virtual void send_bytes(std::vector<uint8_t> bytes) = 0;
  virtual std::vector<uint8_t> receive_bytes() = 0;

 private:
  mutable std::mutex mutex_;
  Traffic traffic_{std::vector<std::array<uint64_t, kMessageTypes>>(1), std::vector<std::array<uint64_t, kMessageTypes>>(1)};
};

}  // namespace asyndgan::dist
