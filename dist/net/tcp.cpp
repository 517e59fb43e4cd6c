// POSIX TCP: endpoint parsing, the listener, a connect under a deadline and the plaintext stream.
#include "dist/net/tcp.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>
#include "dist/net/errors.h"
#include "dist/net/socket_ops.h"

namespace asyndgan::net {
namespace {

constexpr const char* kEndpointForm = "expected host:port, [ipv6]:port or 0.0.0.0:0, with a port 0-65535";

std::string address_text(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return msg(host, ":", port);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return msg("[", host, "]:", port);
  }
  return "?";
}

// Non-blocking so every wait goes through poll() and its deadline; no Nagle delay on small frames; keepalive so
// a peer that vanished without a FIN is noticed by the kernel eventually (the channel's heartbeats are faster).
void tune(int fd, const std::string& what) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    throw NetError(msg("cannot make the socket for ", what, " non-blocking: ", errno_text(errno)));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

struct AddrInfo {
  addrinfo* list = nullptr;
  ~AddrInfo() {
    if (list) ::freeaddrinfo(list);
  }
};

AddrInfo resolve(const Endpoint& e, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  AddrInfo r;
  const std::string port = std::to_string(e.port);
  const int rc = ::getaddrinfo(e.host.empty() ? nullptr : e.host.c_str(), port.c_str(), &hints, &r.list);
  if (rc != 0)
    throw NetError(
        msg("cannot resolve ", to_string(e), ": ", ::gai_strerror(rc), " (check the host name in the config)"));
  return r;
}

// The fix that goes with a failed connect, in words.
std::string connect_hint(int error, const Endpoint& e) {
  const std::string where = to_string(e);
  switch (error) {
    case ECONNREFUSED:
      return "cannot connect to " + where + ": connection refused: is the central node running and listening on " +
             where + "?";
    case ENETUNREACH:
    case EHOSTUNREACH:
      return "cannot connect to " + where + ": " + errno_text(error) +
             ": check the address and the network between the machines";
    case ETIMEDOUT:
      return "cannot connect to " + where + ": " + errno_text(error) + ": is a firewall dropping the connection?";
    default:
      return "cannot connect to " + where + ": " + errno_text(error);
  }
}

class PlainStream final : public Stream {
 public:
  PlainStream(Socket socket, std::string peer) : socket_(std::move(socket)), peer_(std::move(peer)) {}
  ~PlainStream() override { close(); }

  size_t read_some(uint8_t* buf, size_t n, Deadline deadline) override {
    if (n == 0) return 0;
    check_open("read from");
    for (;;) {
      const ssize_t r = ::recv(socket_.fd(), buf, n, 0);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        throw NetError(
            msg("reading from ", peer_, " failed: ", errno_text(errno), " (the peer crashed or the network dropped)"));
      wait_ready(socket_.fd(), POLLIN, deadline, peer_, "reading from");
    }
  }

  void write_all(const uint8_t* data, size_t n, Deadline deadline) override {
    check_open("write to");
    while (n > 0) {
      // MSG_NOSIGNAL: a peer that has gone gives EPIPE here, not a SIGPIPE that would kill the process.
      const ssize_t r = ::send(socket_.fd(), data, n, MSG_NOSIGNAL);
      if (r >= 0) {
        data += r;
        n -= static_cast<size_t>(r);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        throw NetError(
            msg("writing to ", peer_, " failed: ", errno_text(errno), " (the peer closed the connection or crashed)"));
      wait_ready(socket_.fd(), POLLOUT, deadline, peer_, "writing to");
    }
  }

  bool has_buffered() const override { return false; }
  int fd() const override { return socket_.fd(); }
  void close() override {
    if (!socket_.valid()) return;
    close_after_drain(socket_);
  }
  const std::string& peer() const override { return peer_; }
  const std::string& peer_name() const override { return name_; }

 private:
  void check_open(const char* what) const {
    if (!socket_.valid()) throw NetError(msg("cannot ", what, " ", peer_, ": the stream is closed"));
  }
  Socket socket_;
  std::string peer_, name_;
};

}  // namespace

Endpoint parse_endpoint(std::string_view text) {
  const auto bad = [&](const char* why) {
    return ValueError(msg("bad endpoint '", text, "': ", why, " (", kEndpointForm, ")"));
  };
  Endpoint e;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) throw bad("the IPv6 address has no closing ']'");
    e.host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') throw bad("no ':port' after the IPv6 address");
    port = text.substr(close + 2);
    in6_addr a{};
    if (::inet_pton(AF_INET6, e.host.c_str(), &a) != 1) throw bad("not an IPv6 address between the brackets");
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("no ':port'");
    e.host = std::string(text.substr(0, colon));
    if (e.host.find(':') != std::string::npos) throw bad("an IPv6 address needs brackets");
    port = text.substr(colon + 1);
  }
  if (e.host.empty()) throw bad("no host");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    throw bad("the port is not a number from 0 to 65535");
  e.port = static_cast<uint16_t>(value);
  return e;
}

std::string to_string(const Endpoint& e) {
  return e.host.find(':') != std::string::npos ? msg("[", e.host, "]:", e.port) : msg(e.host, ":", e.port);
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

void Socket::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string Socket::peer() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (fd_ < 0 || ::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  return address_text(reinterpret_cast<const sockaddr*>(&ss));
}

Listener Listener::bind(const Endpoint& endpoint) {
  const AddrInfo ai = resolve(endpoint, true);
  int last_error = 0;
  for (const addrinfo* a = ai.list; a; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!s.valid()) {
      last_error = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // restart at once after a stop
    if (::bind(s.fd(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(s.fd(), SOMAXCONN) != 0) {
      last_error = errno;
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&ss), &len);
    Endpoint local = endpoint;
    local.port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                          : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return Listener(std::move(s), std::move(local));
  }
  const std::string hint =
      last_error == EADDRINUSE
          ? " (another process listens there: stop it or pick another port; port 0 picks a free one)"
      : last_error == EADDRNOTAVAIL ? " (this machine has no such address: use 0.0.0.0 or one of its own)"
      : last_error == EACCES        ? " (ports below 1024 need privileges: pick a higher one)"
                                    : "";
  throw NetError(msg("cannot listen on ", to_string(endpoint), ": ", errno_text(last_error), hint));
}

std::string Listener::local() const { return to_string(local_); }

Socket Listener::accept(Deadline deadline) {
  const std::string where = "on " + local();
  for (;;) {
    Socket s(::accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (s.valid()) {
      tune(s.fd(), "a connection accepted " + where);
      return s;
    }
    // A connection that was reset before accept() took it is not the listener's failure: wait for the next.
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      throw NetError(msg("accepting a connection ", where, " failed: ", errno_text(errno)));
    wait_ready(socket_.fd(), POLLIN, deadline, where, "waiting for a connection");
  }
}

Socket connect_tcp(const Endpoint& endpoint, Deadline deadline) {
  const AddrInfo ai = resolve(endpoint, false);
  const std::string where = to_string(endpoint);
  int last_error = ECONNREFUSED;
  for (const addrinfo* a = ai.list; a; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!s.valid()) {
      last_error = errno;
      continue;
    }
    if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS && errno != EINTR) {
        last_error = errno;
        continue;
      }
      wait_ready(s.fd(), POLLOUT, deadline, where, "connecting to");
      int error = 0;
      socklen_t len = sizeof error;
      ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &error, &len);
      if (error != 0) {
        last_error = error;
        continue;
      }
    }
    tune(s.fd(), "the connection to " + where);
    return s;
  }
  throw NetError(connect_hint(last_error, endpoint));
}

std::unique_ptr<Stream> plain_stream(Socket socket, std::string peer) {
  if (!socket.valid()) throw NetError(msg("plain_stream: no connected socket for ", peer));
  return std::make_unique<PlainStream>(std::move(socket), std::move(peer));
}

}  // namespace asyndgan::net
