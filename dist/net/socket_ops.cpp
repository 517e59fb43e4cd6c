// poll() under a Deadline and the draining close (dist/net/socket_ops.h).
#include "dist/net/socket_ops.h"
#include <poll.h>
#include <sys/socket.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include "dist/net/errors.h"

namespace asyndgan::net {

std::string errno_text(int error) { return std::strerror(error); }

void wait_ready(int fd, short events, Deadline deadline, const std::string& peer, const char* doing) {
  for (;;) {
    if (deadline.expired())
      throw NetTimeout(msg("timed out ", doing, " ", peer,
                           " (the deadline passed: is the peer running, and the network "
                           "between the two up?)"));
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, deadline.remaining_ms());
    if (r > 0) return;
    if (r < 0 && errno != EINTR) throw NetError(msg("poll() failed ", doing, " ", peer, ": ", errno_text(errno)));
  }
}

void close_after_drain(Socket& socket) {
  if (!socket.valid()) return;
  ::shutdown(socket.fd(), SHUT_WR);
  // Bounded, since a peer still sending could keep it going.
  uint8_t sink[4096];
  for (int i = 0; i < 64 && ::recv(socket.fd(), sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
  }
  socket.reset();
}

}  // namespace asyndgan::net
