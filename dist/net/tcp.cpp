// Sockets through the POSIX API: getaddrinfo, non-blocking connect and accept under poll() deadlines, sends
// with MSG_NOSIGNAL so a vanished peer is an error and never a SIGPIPE.
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
#include <cstring>
#include "dist/net/errors.h"

namespace asyndgan::net {

namespace {

std::string address_text(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return msg(host, ":", port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  port = ntohs(in6->sin6_port);
  return msg("[", host, "]:", port);
}

void tune(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // small control messages go at once
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

struct AddrInfo {
  addrinfo* list = nullptr;
  ~AddrInfo() {
    if (list) freeaddrinfo(list);
  }
};

AddrInfo resolve(const Endpoint& e, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  AddrInfo ai;
  const std::string port = std::to_string(e.port);
  const int rc = getaddrinfo(e.host.empty() ? nullptr : e.host.c_str(), port.c_str(), &hints, &ai.list);
  if (rc != 0) throw NetError(msg("cannot resolve ", e.str(), ": ", gai_strerror(rc)));
  return ai;
}

class PlainStream : public Stream {
 public:
  PlainStream(Socket s, std::string peer) : s_(std::move(s)), peer_(std::move(peer)) {}
  size_t read_some(uint8_t* buf, size_t n, Deadline deadline) override {
    for (;;) {
      const ssize_t r = ::recv(s_.fd(), buf, n, 0);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) throw NetError(msg("read from ", peer_, " failed: ", std::strerror(errno)));
      wait_fd(s_.fd(), POLLIN, deadline, msg("reading from ", peer_));
    }
  }
  void write_all(const uint8_t* data, size_t n, Deadline deadline) override {
    while (n > 0) {
      const ssize_t w = ::send(s_.fd(), data, n, MSG_NOSIGNAL);
      if (w > 0) {
        data += w;
        n -= static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        throw NetError(msg("write to ", peer_, " failed: ", std::strerror(errno)));
      wait_fd(s_.fd(), POLLOUT, deadline, msg("writing to ", peer_));
    }
  }
  bool has_buffered() const override { return false; }
  int fd() const override { return s_.fd(); }
  void close() override {
    if (s_.fd() >= 0) ::shutdown(s_.fd(), SHUT_RDWR);
    s_ = Socket();
  }
  const std::string& peer() const override { return peer_; }
  const std::string& peer_name() const override { return name_; }

 private:
  Socket s_;
  std::string peer_, name_;
};

}  // namespace

std::string Endpoint::str() const {
  return host.find(':') != std::string::npos ? msg("[", host, "]:", port) : msg(host, ":", port);
}

Endpoint parse_endpoint(std::string_view text) {
  const std::string t(text);
  auto bad = [&](const char* why) {
    return ValueError(msg("endpoint '", t, "': ", why, "; expected host:port, e.g. 0.0.0.0:7710, central.example.org:7710 or [::1]:7710"));
  };
  Endpoint e;
  std::string port;
  if (!t.empty() && t[0] == '[') {
    const size_t close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() || t[close + 1] != ':') throw bad("an IPv6 address needs [addr]:port");
    e.host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    const size_t colon = t.rfind(':');
    if (colon == std::string::npos) throw bad("no port");
    e.host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (e.host.find(':') != std::string::npos) throw bad("an IPv6 address goes in brackets");
  }
  if (e.host.empty()) throw bad("no host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) throw bad("the port is not a number");
  const int p = std::stoi(port);
  if (p > 65535) throw bad("the port is above 65535");
  e.port = static_cast<uint16_t>(p);
  return e;
}

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
    peer_ = std::move(o.peer_);
  }
  return *this;
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

int Socket::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void wait_fd(int fd, short events, Deadline deadline, const std::string& what) {
  for (;;) {
    if (deadline.expired()) throw NetTimeout(msg("timed out ", what));
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, deadline.remaining_ms());
    if (r > 0) return;  // ready, or an error the next call reports
    if (r < 0 && errno != EINTR) throw NetError(msg("poll failed ", what, ": ", std::strerror(errno)));
  }
}

Listener Listener::bind(const Endpoint& at) {
  AddrInfo ai = resolve(at, true);
  std::string last = "no address";
  for (addrinfo* a = ai.list; a; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (s.fd() < 0) {
      last = std::strerror(errno);
      continue;
    }
    const int one = 1;
    setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.fd(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(s.fd(), 64) != 0) {
      last = std::strerror(errno);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(s.fd(), reinterpret_cast<sockaddr*>(&bound), &len);
    Listener l;
    l.port_ = bound.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                                          : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    l.host_ = at.host;
    l.socket_ = std::move(s);
    return l;
  }
  throw NetError(msg("cannot listen on ", at.str(), ": ", last, " (is another process on that port? set dist.listen)"));
}

std::string Listener::local() const { return Endpoint{host_, port_}.str(); }

Socket Listener::accept(Deadline deadline) {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(socket_.fd(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      tune(fd);
      return Socket(fd, address_text(reinterpret_cast<sockaddr*>(&peer)));
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw NetError(msg("accept on ", local(), " failed: ", std::strerror(errno)));
    wait_fd(socket_.fd(), POLLIN, deadline, msg("waiting for a connection on ", local()));
  }
}

Socket connect_tcp(const Endpoint& to, Deadline deadline) {
  AddrInfo ai = resolve(to, false);
  std::string last = "no address";
  for (addrinfo* a = ai.list; a; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol), to.str());
    if (s.fd() < 0) {
      last = std::strerror(errno);
      continue;
    }
    if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = std::strerror(errno);
        continue;
      }
      wait_fd(s.fd(), POLLOUT, deadline, msg("connecting to ", to.str()));
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = std::strerror(err);
        continue;
      }
    }
    tune(s.fd());
    return s;
  }
  throw NetError(msg("cannot connect to ", to.str(), ": ", last, " (is the central node running and listening there?)"));
}

std::unique_ptr<Stream> plain_stream(Socket socket, std::string peer) {
  return std::make_unique<PlainStream>(std::move(socket), std::move(peer));
}

void read_exact(Stream& s, uint8_t* buf, size_t n, Deadline deadline) {
  while (n > 0) {
    const size_t r = s.read_some(buf, n, deadline);
    if (r == 0) throw NetError(msg(s.peer(), " closed the connection with ", n, " bytes still expected"));
    buf += r;
    n -= r;
  }
}

}  // namespace asyndgan::net
