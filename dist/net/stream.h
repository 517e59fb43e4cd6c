// A connected byte stream (plain TCP or TLS) on a non-blocking socket, every call bounded by a deadline. One
// thread drives a stream at a time (the channel's link thread): OpenSSL does not allow concurrent calls.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include "dist/net/deadline.h"

namespace asyndgan::net {

class Stream {
 public:
  virtual ~Stream() = default;
  // Blocks until at least one byte (returns how many), the peer's orderly close (0) or the deadline (NetTimeout).
  virtual size_t read_some(uint8_t* buf, size_t n, Deadline deadline) = 0;
  virtual void write_all(const uint8_t* data, size_t n, Deadline deadline) = 0;  // NetTimeout / NetError
  virtual bool has_buffered() const = 0;  // bytes already received and decrypted: readable without the socket
  virtual int fd() const = 0;             // for poll()
  virtual void close() = 0;               // TLS close_notify when it can, then the socket; idempotent
  virtual const std::string& peer() const = 0;       // "127.0.0.1:40312"
  virtual const std::string& peer_name() const = 0;  // TLS: the verified certificate's CN; plaintext: ""
};

void read_exact(Stream& s, uint8_t* buf, size_t n, Deadline deadline);  // NetError on EOF before n bytes

}  // namespace asyndgan::net
