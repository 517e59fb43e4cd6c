// TCP for the distributed runtime: endpoints, an RAII socket, a listener and a connect, all non-blocking with
// deadlines; plain_stream() wraps a socket for the explicit --insecure mode (tls.h is the normal one).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include "dist/net/deadline.h"
#include "dist/net/stream.h"

namespace asyndgan::net {

struct Endpoint {
  std::string host;  // a name, an IPv4 address or an IPv6 address (without brackets)
  uint16_t port = 0;
};

// "host:port", "[::1]:port", "0.0.0.0:0"; ValueError naming the text and the expected form.
Endpoint parse_endpoint(std::string_view text);
// "host:port", with brackets around an IPv6 address.
std::string to_string(const Endpoint& endpoint);

// A socket descriptor, closed when the Socket goes; movable, not copyable. Sockets made here are non-blocking,
// close-on-exec, TCP_NODELAY and keepalive.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { reset(); }
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {  // the descriptor, which the caller now owns
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();
  // The connected peer's numeric address, "127.0.0.1:40312" or "[::1]:40312" ("?" when it cannot be read).
  std::string peer() const;

 private:
  int fd_ = -1;
};

class Listener {
 public:
  // SO_REUSEADDR; port 0 picks a free port (port() says which). NetError naming the endpoint and the reason.
  static Listener bind(const Endpoint& endpoint);
  uint16_t port() const { return port_; }
  std::string local() const;  // "0.0.0.0:40312": the bound address with the real port
  // The next connection; NetTimeout at the deadline. The connection is non-blocking, TCP_NODELAY, keepalive.
  Socket accept(Deadline deadline);
  int fd() const { return socket_.fd(); }

 private:
  Listener(Socket socket, Endpoint local) : socket_(std::move(socket)), local_(std::move(local)), port_(local_.port) {}
  Socket socket_;
  Endpoint local_;
  uint16_t port_ = 0;
};

// Resolves the endpoint (getaddrinfo) and connects under the deadline, trying each address in turn.
// NetError naming the endpoint and errno's text ("connection refused: is the central node running and listening
// on HOST:PORT?"); NetTimeout at the deadline.
Socket connect_tcp(const Endpoint& endpoint, Deadline deadline);

// A plaintext stream over a connected socket, for the explicit --insecure mode; peer() is `peer`.
std::unique_ptr<Stream> plain_stream(Socket socket, std::string peer);

}  // namespace asyndgan::net
