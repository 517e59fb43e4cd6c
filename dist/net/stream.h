// A connected byte stream (plaintext TCP or TLS) with deadlines, driven by one thread: the channel's I/O thread
// polls fd() and calls read_some / write_all itself, so no two calls on one Stream ever run at once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include "dist/net/deadline.h"

namespace asyndgan::net {

class Stream {
 public:
  virtual ~Stream() = default;
  // Blocks until at least one byte, the deadline (NetTimeout, having consumed nothing: call again), or the peer's
  // orderly close (returns 0). NetError when the connection breaks (TlsError for a TLS alert).
  virtual size_t read_some(uint8_t* buf, size_t n, Deadline deadline) = 0;
  // Blocks until all n bytes are handed to the kernel. NetTimeout / NetError may come after part of them went:
  // the peer then holds a partial message, so the stream is only good for close(). A thread that also reads
  // should write in pieces it can afford to wait for, since a peer writing to it at the same time does not read.
  virtual void write_all(const uint8_t* data, size_t n, Deadline deadline) = 0;
  // Bytes already decrypted or buffered, readable without the socket: poll() on fd() does not see them.
  virtual bool has_buffered() const = 0;
  virtual int fd() const = 0;  // for poll(); -1 once closed
  // TLS close_notify when possible, then shutdown + close; idempotent, never throws.
  virtual void close() = 0;
  virtual const std::string& peer() const = 0;       // "127.0.0.1:40312"
  virtual const std::string& peer_name() const = 0;  // TLS: the verified certificate's CN; plaintext: ""
};

// Reads exactly n bytes: NetError naming the peer when it closes first, NetTimeout at the deadline.
void read_exact(Stream& stream, uint8_t* buf, size_t n, Deadline deadline);

}  // namespace asyndgan::net
