// The in-process channel: all sites in one process, a byte queue each way per site. It still encodes and
// decodes every message in the run's wire dtype, so a simulation runs the deployment's code path and counts
// exactly the bytes the TCP channel carries inside its frames.
#pragma once
#include <memory>
#include "dist/channel.h"

namespace asyndgan::dist {

class InProcessChannel {
 public:
  // A receive waits at most its timeout (sites may run in threads), then throws an Error naming the link: a
  // single-threaded driver that receives before the other end sent would otherwise hang.
  InProcessChannel(int64_t num_sites, WireDtype wire);
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
