// Mutual TLS 1.3 over a connected socket (OpenSSL 3): the central node's server side and each site's client
// side, both verifying the peer's certificate against the run's CA (made by `asyndgan certs`, certs.h).
#pragma once
#include <memory>
#include <string>
#include "dist/net/deadline.h"
#include "dist/net/stream.h"
#include "dist/net/tcp.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept out of this header

namespace asyndgan::net {

struct TlsFiles {
  std::string ca, cert, key;  // PEM paths: the run's CA certificate, this node's certificate and its key
};

// The central node. The constructor loads and checks the files (TlsError naming the file and the fix); one
// TlsServer serves every connection, from any thread.
class TlsServer {
 public:
  explicit TlsServer(const TlsFiles& files);
  // The TLS handshake on an accepted socket under the deadline: the client must present a certificate of the CA
  // (peer_name() is its CN, to check against the site it claims). TlsError saying what went wrong in words,
  // NetTimeout at the deadline, NetError when the connection breaks.
  std::unique_ptr<Stream> accept(Socket socket, Deadline deadline) const;

 private:
  std::shared_ptr<ssl_ctx_st> ctx_;
};

// A site. The constructor loads and checks the files (TlsError naming the file and the fix).
class TlsClient {
 public:
  explicit TlsClient(const TlsFiles& files, std::string expected_server_name = "central");
  // The TLS handshake on a connected socket under the deadline: the server's certificate must be of the CA and
  // its CN expected_server_name. `server_host` (the name or address the site dialled) is sent as SNI when it is
  // a name, and appears in errors. Note that TLS 1.3 lets the client finish before the server has checked the
  // client's certificate: a refusal of this site's certificate arrives as a TlsError from the first read.
  std::unique_ptr<Stream> connect(Socket socket, std::string server_host, Deadline deadline) const;

 private:
  std::shared_ptr<ssl_ctx_st> ctx_;
  std::string expected_server_name_;
};

}  // namespace asyndgan::net
