// One peer connection of the TCP channel: frames over a net::Stream, driven by an I/O thread of its own that
// reads, writes, sends heartbeats and notices silence, so the roles' compute overlaps the network and every
// OpenSSL call on a stream happens on one thread.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include "dist/frame.h"
#include "dist/net/stream.h"

namespace asyndgan::dist {

// A frame type outside dist/messages.h's: empty, both ways, handled here and never decoded as a message.
inline constexpr uint8_t kHeartbeatFrame = 31;  // the last type FrameRules::allowed_types can name

struct LinkOptions {
  FrameRules rules;                   // what the peer may send (heartbeats are always allowed)
  FrameHeader outgoing;               // version, run id and site id of the frames this end sends
  bool zstd = false;                  // compress outgoing payloads
  std::chrono::milliseconds silence{60000};  // the peer is dropped after this long without a byte
  std::string peer_label;             // "site 'SiteA' (10.0.0.7:41234)", for log lines
};

class Link {
 public:
  using OnFrame = std::function<void(Frame)>;
  using OnLost = std::function<void(const std::string& why)>;
  // Starts the I/O thread. on_frame gets each message frame; on_lost is called once, from the I/O thread, when
  // the link ends for any reason other than close() (a bad frame naming its field, the peer closing, silence).
  Link(std::unique_ptr<net::Stream> stream, LinkOptions options, OnFrame on_frame, OnLost on_lost);
  ~Link();  // close()
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Queues a frame; the I/O thread writes it (and compresses it when asked). Error when the link has ended.
  void send(uint8_t type, int64_t step, std::vector<uint8_t> payload);
  void set_rules(const FrameRules& rules);  // e.g. a larger largest message once Hello is known
  // Sends what is queued (bounded by the silence timeout), then ends the connection; idempotent.
  void close();
  bool alive() const { return alive_; }
  const std::string& label() const { return o_.peer_label; }

 private:
  void run();
  void wake();
  std::unique_ptr<net::Stream> stream_;
  LinkOptions o_;
  OnFrame on_frame_;
  OnLost on_lost_;
  std::mutex mutex_;
  std::deque<std::pair<FrameHeader, std::vector<uint8_t>>> out_;
  FrameRules pending_rules_;
  bool rules_changed_ = false, closing_ = false;
  std::atomic<bool> alive_{true};
  int wake_fd_[2] = {-1, -1};
  std::thread io_;
};

}  // namespace asyndgan::dist
