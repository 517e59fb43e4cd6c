// TCP endpoints, listening and connecting sockets (non-blocking, deadlines through poll), and the plaintext
// stream of an --insecure run.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include "dist/net/deadline.h"
#include "dist/net/stream.h"

namespace asyndgan::net {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string str() const;  // "host:port" ("[::1]:port")
};
// "host:port", "[::1]:port", "0.0.0.0:0"; ValueError naming the text and the expected form.
Endpoint parse_endpoint(std::string_view text);

// An owned socket descriptor (non-blocking, close-on-exec).
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd, std::string peer = "") : fd_(fd), peer_(std::move(peer)) {}
  Socket(Socket&& o) noexcept : fd_(o.release()), peer_(std::move(o.peer_)) {}
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();
  int fd() const { return fd_; }
  int release();
  const std::string& peer() const { return peer_; }

 private:
  int fd_ = -1;
  std::string peer_;
};

class Listener {
 public:
  static Listener bind(const Endpoint& at);  // SO_REUSEADDR; port 0 picks a free one
  uint16_t port() const { return port_; }
  std::string local() const;
  Socket accept(Deadline deadline);  // NetTimeout when nobody connects in time

 private:
  Socket socket_;
  std::string host_;
  uint16_t port_ = 0;
};

Socket connect_tcp(const Endpoint& to, Deadline deadline);  // NetError naming the endpoint and what failed

std::unique_ptr<Stream> plain_stream(Socket socket, std::string peer);

// Waits until fd is readable (events POLLIN) or writable (POLLOUT); NetTimeout naming `what` at the deadline.
void wait_fd(int fd, short events, Deadline deadline, const std::string& what);

}  // namespace asyndgan::net
