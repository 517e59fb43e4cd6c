// Mutual TLS 1.3 (OpenSSL 3) over a connected socket: the central node accepts only sites with a certificate
// of the run's CA, a site accepts only the central node's. TLS 1.2 and older are refused.
#pragma once
#include <memory>
#include <string>
#include "dist/net/stream.h"
#include "dist/net/tcp.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace asyndgan::net {

struct TlsFiles {
  std::string ca, cert, key;  // PEM: the run CA's certificate, this role's certificate and private key
};

class TlsServer {
 public:
  explicit TlsServer(const TlsFiles& files);  // TlsError naming the file that cannot be used, and the fix
  ~TlsServer();
  // The handshake, which requires a client certificate of the CA; peer_name() is its CN.
  std::unique_ptr<Stream> accept(Socket socket, Deadline deadline);

 private:
  SSL_CTX* ctx_;
};

class TlsClient {
 public:
  // Accepts only a server certificate of the CA whose CN is expected_server_name.
  explicit TlsClient(const TlsFiles& files, std::string expected_server_name = "central");
  ~TlsClient();
  std::unique_ptr<Stream> connect(Socket socket, const std::string& server_host, Deadline deadline);

 private:
  SSL_CTX* ctx_;
  std::string expected_;
};

}  // namespace asyndgan::net
