// TLS through OpenSSL 3 on non-blocking sockets: each SSL call that wants to read or write waits on poll()
// under the caller's deadline. Handshake failures are turned into sentences that say what the peer did.
#include "dist/net/tls.h"
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <csignal>
#include <mutex>
#include "dist/net/errors.h"

namespace asyndgan::net {

namespace {

// OpenSSL writes to the socket with write(2): a peer that vanished would raise SIGPIPE and end the process.
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

std::string openssl_errors() {
  std::string s;
  while (const unsigned long e = ERR_get_error()) {
    char b[256];
    ERR_error_string_n(e, b, sizeof b);
    s += (s.empty() ? "" : "; ") + std::string(b);
  }
  return s.empty() ? "no detail from OpenSSL" : s;
}

SSL_CTX* make_ctx(const TlsFiles& f, bool server) {
  ignore_sigpipe();
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx) throw TlsError("TLS: cannot create a context: " + openssl_errors());
  auto fail = [&](const std::string& what) {
    const std::string detail = openssl_errors();
    SSL_CTX_free(ctx);
    return TlsError(msg(what, ": ", detail, "; make the run's certificates with 'asyndgan certs' and set dist.certs"));
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, f.cert.c_str()) != 1) throw fail("cannot read the certificate " + f.cert);
  if (SSL_CTX_use_PrivateKey_file(ctx, f.key.c_str(), SSL_FILETYPE_PEM) != 1) throw fail("cannot read the private key " + f.key);
  if (SSL_CTX_check_private_key(ctx) != 1) throw fail(msg("the key ", f.key, " does not belong to the certificate ", f.cert));
  if (SSL_CTX_load_verify_locations(ctx, f.ca.c_str(), nullptr) != 1) throw fail("cannot read the run CA " + f.ca);
  SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, nullptr);
  return ctx;
}

std::string common_name(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "";
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return cn;
}

// What a failed handshake means, in words.
std::string handshake_failure(SSL* ssl, const std::string& peer, bool server) {
  const long verify = SSL_get_verify_result(ssl);
  const std::string detail = openssl_errors();
  if (verify != X509_V_OK)
    return msg("TLS handshake with ", peer, " failed: the peer's certificate is not signed by this run's CA (",
               X509_verify_cert_error_string(verify), ")");
  if (detail.find("wrong version number") != std::string::npos || detail.find("http request") != std::string::npos ||
      detail.find("packet length too long") != std::string::npos || detail.find("record layer failure") != std::string::npos)
    return msg("TLS handshake with ", peer, " failed: the peer is not speaking TLS (plaintext client? start it without --insecure): ",
               detail);
  if (detail.find("unsupported protocol") != std::string::npos || detail.find("no protocols available") != std::string::npos)
    return msg("TLS handshake with ", peer, " failed: the peer offers no TLS 1.3, which this run requires: ", detail);
  if (server && detail.find("peer did not return a certificate") != std::string::npos)
    return msg("TLS handshake with ", peer, " failed: the peer presented no certificate (every site needs its own): ", detail);
  return msg("TLS handshake with ", peer, " failed: ", detail);
}

class TlsStream : public Stream {
 public:
  TlsStream(Socket s, SSL* ssl, std::string peer) : s_(std::move(s)), ssl_(ssl), peer_(std::move(peer)) {}
  ~TlsStream() override {
    close();
    SSL_free(ssl_);
  }
  void handshake(bool server, Deadline deadline) {
    for (;;) {
      ERR_clear_error();
      const int r = server ? SSL_accept(ssl_) : SSL_connect(ssl_);
      if (r == 1) break;
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ) wait_fd(s_.fd(), POLLIN, deadline, msg("in the TLS handshake with ", peer_));
      else if (e == SSL_ERROR_WANT_WRITE) wait_fd(s_.fd(), POLLOUT, deadline, msg("in the TLS handshake with ", peer_));
      else throw TlsError(handshake_failure(ssl_, peer_, server));
    }
    name_ = common_name(ssl_);
  }
  size_t read_some(uint8_t* buf, size_t n, Deadline deadline) override {
    for (;;) {
      size_t got = 0;
      ERR_clear_error();
      if (SSL_read_ex(ssl_, buf, n, &got) == 1) return got;
      const int e = SSL_get_error(ssl_, 0);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify
      if (e == SSL_ERROR_WANT_READ) wait_fd(s_.fd(), POLLIN, deadline, msg("reading from ", peer_));
      else if (e == SSL_ERROR_WANT_WRITE) wait_fd(s_.fd(), POLLOUT, deadline, msg("reading from ", peer_));
      else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  // the peer closed without close_notify
      else throw NetError(msg("TLS read from ", peer_, " failed: ", openssl_errors()));
    }
  }
  void write_all(const uint8_t* data, size_t n, Deadline deadline) override {
    while (n > 0) {
      size_t put = 0;
      ERR_clear_error();
      if (SSL_write_ex(ssl_, data, n, &put) == 1) {
        data += put;
        n -= put;
        continue;
      }
      const int e = SSL_get_error(ssl_, 0);
      if (e == SSL_ERROR_WANT_WRITE) wait_fd(s_.fd(), POLLOUT, deadline, msg("writing to ", peer_));
      else if (e == SSL_ERROR_WANT_READ) wait_fd(s_.fd(), POLLIN, deadline, msg("writing to ", peer_));
      else throw NetError(msg("TLS write to ", peer_, " failed: ", openssl_errors()));
    }
  }
  bool has_buffered() const override { return SSL_pending(ssl_) > 0; }
  int fd() const override { return s_.fd(); }
  void close() override {
    if (s_.fd() < 0) return;
    SSL_shutdown(ssl_);  // one close_notify, no wait for the peer's
    ::shutdown(s_.fd(), SHUT_RDWR);
    s_ = Socket();
  }
  const std::string& peer() const override { return peer_; }
  const std::string& peer_name() const override { return name_; }

 private:
  Socket s_;
  SSL* ssl_;
  std::string peer_, name_;
};

std::unique_ptr<TlsStream> wrap(SSL_CTX* ctx, Socket& socket, const std::string& peer) {
  SSL* ssl = SSL_new(ctx);
  if (!ssl || SSL_set_fd(ssl, socket.fd()) != 1) {
    if (ssl) SSL_free(ssl);
    throw TlsError("TLS: cannot set up a connection: " + openssl_errors());
  }
  return std::make_unique<TlsStream>(std::move(socket), ssl, peer);
}

}  // namespace

TlsServer::TlsServer(const TlsFiles& files) : ctx_(make_ctx(files, true)) {}
TlsServer::~TlsServer() { SSL_CTX_free(ctx_); }

std::unique_ptr<Stream> TlsServer::accept(Socket socket, Deadline deadline) {
  const std::string peer = socket.peer();
  auto s = wrap(ctx_, socket, peer);
  s->handshake(true, deadline);
  return s;
}

TlsClient::TlsClient(const TlsFiles& files, std::string expected_server_name)
    : ctx_(make_ctx(files, false)), expected_(std::move(expected_server_name)) {}
TlsClient::~TlsClient() { SSL_CTX_free(ctx_); }

std::unique_ptr<Stream> TlsClient::connect(Socket socket, const std::string& server_host, Deadline deadline) {
  const std::string peer = socket.peer().empty() ? server_host : socket.peer();
  auto s = wrap(ctx_, socket, peer);
  s->handshake(false, deadline);
  if (s->peer_name() != expected_)
    throw TlsError(msg("TLS: the server at ", peer, " presents a certificate of '", s->peer_name(), "', not of '", expected_,
                       "': connect to the central node of this run"));
  return s;
}

}  // namespace asyndgan::net
