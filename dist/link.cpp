// The link's I/O thread: poll the socket and a wake-up pipe; write queued frames, heartbeats when idle; read
// and decode frames as bytes arrive; end on a bad frame, the peer's close or silence.
#include "dist/link.h"
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <algorithm>
#include "base/error.h"
#include "dist/net/errors.h"

namespace asyndgan::dist {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

FrameRules with_heartbeats(FrameRules r) {
  r.allowed_types |= 1u << kHeartbeatFrame;
  return r;
}

}  // namespace

Link::Link(std::unique_ptr<net::Stream> stream, LinkOptions options, OnFrame on_frame, OnLost on_lost)
    : stream_(std::move(stream)), o_(std::move(options)), on_frame_(std::move(on_frame)), on_lost_(std::move(on_lost)) {
  if (pipe2(wake_fd_, O_NONBLOCK | O_CLOEXEC) != 0) throw Error("link: cannot create its wake-up pipe");
  io_ = std::thread([this] { run(); });
}

Link::~Link() {
  close();
  for (int fd : wake_fd_)
    if (fd >= 0) ::close(fd);
}

void Link::wake() {
  const char b = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_[1], &b, 1);  // a full pipe already wakes the thread
}

void Link::send(uint8_t type, int64_t step, std::vector<uint8_t> payload) {
  FrameHeader h = o_.outgoing;
  h.type = type;
  h.step = step;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!alive_ || closing_) throw Error(msg("link to ", o_.peer_label, " has ended: nothing more can be sent"));
    out_.emplace_back(h, std::move(payload));
  }
  wake();
}

void Link::set_rules(const FrameRules& rules) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_rules_ = rules;
    rules_changed_ = true;
  }
  wake();
}

void Link::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  wake();
  if (io_.joinable()) io_.join();
}

void Link::run() {
  FrameReader reader(with_heartbeats(o_.rules));
  std::vector<uint8_t> buf(size_t{1} << 16);
  auto last_rx = Clock::now(), last_tx = Clock::now();
  // At least every second, whatever this end's own silence limit: the peer's may be shorter (dist.timeout_s is each
  // role's own setting).
  const milliseconds beat = std::clamp(o_.silence / 4, milliseconds(10), milliseconds(1000));
  std::string why;
  auto write_frame_now = [&](const FrameHeader& h, const std::vector<uint8_t>& payload) {
    const net::Deadline d = net::Deadline::after(o_.silence);
    write_frame(h, payload, o_.zstd && !payload.empty(),
                [&](std::span<const uint8_t> chunk) { stream_->write_all(chunk.data(), chunk.size(), d); });
    last_tx = Clock::now();
  };
  try {
    for (;;) {
      std::deque<std::pair<FrameHeader, std::vector<uint8_t>>> out;
      bool closing;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        out.swap(out_);
        closing = closing_;
        if (rules_changed_) reader.set_rules(with_heartbeats(pending_rules_));
        rules_changed_ = false;
      }
      for (const auto& [h, payload] : out) write_frame_now(h, payload);
      if (closing) break;
      if (Clock::now() - last_tx >= beat) {
        FrameHeader h = o_.outgoing;
        h.type = kHeartbeatFrame;
        write_frame_now(h, {});
      }
      const auto now = Clock::now();
      if (now - last_rx > o_.silence) {
        why = msg("silent for ", std::chrono::duration_cast<milliseconds>(now - last_rx).count() / 1000.0,
                  " s (dist.timeout_s): dropped");
        break;
      }
      bool readable = stream_->has_buffered();
      if (!readable) {
        const auto until_beat = beat - std::chrono::duration_cast<milliseconds>(now - last_tx);
        const auto until_silent = o_.silence - std::chrono::duration_cast<milliseconds>(now - last_rx);
        const auto wait = std::clamp(std::min(until_beat, until_silent), milliseconds(1), milliseconds(1000));
        pollfd fds[2] = {{stream_->fd(), POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(wait.count())) < 0 && errno != EINTR)
          throw Error(msg("link: poll failed (", errno, ")"));
        if (fds[1].revents & POLLIN) {
          char drain[64];
          while (::read(wake_fd_[0], drain, sizeof drain) > 0) {}
        }
        readable = (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
      }
      if (!readable) continue;
      size_t n = 0;
      try {
        n = stream_->read_some(buf.data(), buf.size(), net::Deadline::after(milliseconds(50)));
      } catch (const net::NetTimeout&) {
        continue;  // a partial TLS record: the rest comes with the next poll
      }
      if (n == 0) {
        why = "closed the connection";
        break;
      }
      last_rx = Clock::now();
      for (size_t at = 0; at < n;) {
        at += reader.feed(std::span<const uint8_t>(buf.data() + at, n - at));
        while (std::optional<Frame> f = reader.take()) {
          if (f->header.type == kHeartbeatFrame) {
            if (!f->payload.empty()) throw FrameError("type", "frame: a heartbeat carries a payload");
            continue;
          }
          on_frame_(std::move(*f));
        }
      }
    }
  } catch (const std::exception& e) {
    why = e.what();
  }
  alive_ = false;
  try {
    stream_->close();
  } catch (const std::exception&) {
    // the connection is gone either way
  }
  bool closing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing = closing_;
  }
  if (!closing && !why.empty() && on_lost_) on_lost_(why);
}

}  // namespace asyndgan::dist
