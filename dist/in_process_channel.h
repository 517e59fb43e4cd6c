// The in-process channel: all sites in one process, a queue each way per site. By default it still encodes and
// decodes every message in the run's wire dtype, so a simulation runs the deployment's code path and counts
// exactly the bytes the TCP channel carries inside its frames; it may instead hand the messages over as decoded.
#pragma once
#include <memory>
#include "dist/channel.h"

namespace asyndgan::dist {

class InProcessChannel {
 public:
  // bytes: every message is encoded and decoded, as a deployment's are (the default, and what the tests of the
  // wire compare against). tensors: every message is handed over as the other end would decode it
  // (dist/messages.h carried: floating tensors rounded through the wire dtype, on their device), counted at its
  // encoded size, with the same results bit for bit; on a GPU its images and gradients never leave the device.
  enum class Carry { bytes, tensors };
  // A receive waits at most its timeout (sites may run in threads), then throws an Error naming the link: a
  // single-threaded driver that receives before the other end sent would otherwise hang.
  InProcessChannel(int64_t num_sites, WireDtype wire, Carry carry = Carry::bytes);
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
