// The network layer's errors: every message names the peer (host:port) and what to do about it.
#pragma once
#include "base/error.h"

namespace asyndgan::net {

// The connection failed or was refused: the operating system's word on a socket, or a peer that broke off.
struct NetError : IOError {
  using IOError::IOError;
};
// A Deadline passed before the operation finished; the stream is left as it was (a read took nothing).
struct NetTimeout : NetError {
  using NetError::NetError;
};
// The TLS layer refused: a handshake that failed (certificate, CA, protocol version, a plaintext peer), a file
// that cannot be loaded, or a protocol error on an established stream.
struct TlsError : NetError {
  using NetError::NetError;
};

}  // namespace asyndgan::net
