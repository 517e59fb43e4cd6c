// The transport's errors: every message names the peer (host:port) and, where there is one, the fix.
#pragma once
#include "base/error.h"

namespace asyndgan::net {

struct NetError : IOError { using IOError::IOError; };      // the connection failed or ended
struct NetTimeout : NetError { using NetError::NetError; };  // a deadline passed
struct TlsError : NetError { using NetError::NetError; };    // a handshake or certificate was refused

}  // namespace asyndgan::net
