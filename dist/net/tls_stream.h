// The TLS Stream (internal to dist/net): one SSL object over one non-blocking socket, its handshake driven under
// a deadline; tls.cpp makes the contexts, this file the connections.
#pragma once
#include <openssl/ssl.h>
#include <memory>
#include <string>
#include "dist/net/deadline.h"
#include "dist/net/stream.h"
#include "dist/net/tcp.h"

namespace asyndgan::net {

struct TlsSide {
  bool server = false;
  std::string expected_name;  // client: the server's certificate must have this CN
  std::string server_host;    // client: SNI when it is a name (not an address)
};

// Runs the handshake and returns the established stream (TlsError / NetTimeout / NetError otherwise).
std::unique_ptr<Stream> tls_handshake(SSL_CTX* ctx, Socket socket, const TlsSide& side, Deadline deadline);

// The verify callback both contexts install: at the leaf of a client's chain, it refuses a server whose CN is not
// the expected name, so the refusal happens inside the handshake (the server gets an alert, not a silent drop).
int tls_verify_callback(int preverify_ok, X509_STORE_CTX* store);

// The subject CN of a certificate, "" when it has none.
std::string certificate_cn(const X509* cert);

}  // namespace asyndgan::net
