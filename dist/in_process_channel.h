// The in-process channel: all sites in one process, a byte queue each way per site. It still encodes and
// decodes every message, so a simulation exercises the wire format and counts exactly the bytes TCP will.
#pragma once
#include <chrono>
#include <memory>
#include "dist/channel.h"

namespace asyndgan::dist {

class InProcessChannel {
 public:
  // receive() waits at most `timeout` for a message (sites may run in threads), then throws an Error naming
  // the link: a single-threaded driver that receives before the other end sent would otherwise hang.
  explicit InProcessChannel(int64_t num_sites, std::chrono::milliseconds timeout = std::chrono::seconds(120));
  ~InProcessChannel();
  InProcessChannel(const InProcessChannel&) = delete;
  InProcessChannel& operator=(const InProcessChannel&) = delete;

  CentralChannel& central();
  SiteChannel& site(int64_t j);
  int64_t num_sites() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace asyndgan::dist
