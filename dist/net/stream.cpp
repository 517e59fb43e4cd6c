// What every Stream shares: reading an exact number of bytes.
#include "dist/net/stream.h"
#include "dist/net/errors.h"

namespace asyndgan::net {

void read_exact(Stream& stream, uint8_t* buf, size_t n, Deadline deadline) {
  size_t got = 0;
  while (got < n) {
    const size_t r = stream.read_some(buf + got, n - got, deadline);
    if (r == 0)
      throw NetError(msg(stream.peer(), " closed the connection after ", got, " of ", n,
                         " bytes (the peer stopped or dropped this node)"));
    got += r;
  }
}

}  // namespace asyndgan::net
