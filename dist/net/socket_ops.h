// What the plaintext and TLS streams, the listener and connect share on a socket: waiting under a Deadline,
// errno's text, and the closing that keeps the last bytes.
#pragma once
#include <string>
#include "dist/net/deadline.h"
#include "dist/net/tcp.h"

namespace asyndgan::net {

// Blocks until `fd` is ready for `events` (POLLIN / POLLOUT); POLLERR and POLLHUP count as ready, so the next
// call reports the error itself. NetTimeout "timed out <doing> <peer> ..." once the deadline passes;
// EINTR is retried.
void wait_ready(int fd, short events, Deadline deadline, const std::string& peer, const char* doing);

// The system's text for an errno value.
std::string errno_text(int error);

// Sends FIN after whatever is queued, takes the input that has already arrived, then closes: unread input makes
// close() send a reset, which can discard the last bytes (a TLS close_notify, say) still queued for the peer.
void close_after_drain(Socket& socket);

}  // namespace asyndgan::net
