// TLS connections over a socket BIO that sends with MSG_NOSIGNAL (dist/net/tls_stream.h).
#include "dist/net/tls_stream.h"
#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <cerrno>
#include <cstdint>
#include "dist/net/errors.h"
#include "dist/net/tls_diagnosis.h"
#include "dist/net/socket_ops.h"

namespace asyndgan::net {
namespace {

// What the BIO and the verify callback need from their connection; owned by the TlsStream.
struct Link {
  int fd = -1;
  bool eof = false;
  int last_errno = 0;
  std::string expected_name, rejected_name;  // client: the server CN wanted, and the one refused
};

Link* link_of(BIO* b) { return static_cast<Link*>(BIO_get_data(b)); }

// OpenSSL's own socket BIO writes with write(), which raises SIGPIPE on a closed peer and would kill the process;
// this one sends with MSG_NOSIGNAL (EPIPE instead) and otherwise behaves like it on a non-blocking socket.
int bio_write(BIO* b, const char* data, size_t n, size_t* written) {
  Link* l = link_of(b);
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t r = ::send(l->fd, data, n, MSG_NOSIGNAL);
    if (r >= 0) {
      *written = static_cast<size_t>(r);
      return 1;
    }
    if (errno == EINTR) continue;
    l->last_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    return 0;
  }
}

int bio_read(BIO* b, char* data, size_t n, size_t* got) {
  Link* l = link_of(b);
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t r = ::recv(l->fd, data, n, 0);
    if (r > 0) {
      *got = static_cast<size_t>(r);
      return 1;
    }
    if (r == 0) {
      l->eof = true;  // BIO_eof() then says so, which is how libssl tells an EOF from an error
      return 0;
    }
    if (errno == EINTR) continue;
    l->last_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
    return 0;
  }
}

long bio_ctrl(BIO* b, int cmd, long num, void* ptr) {
  Link* l = link_of(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // send() buffers nothing in user space
    case BIO_CTRL_EOF:
      return l && l->eof ? 1 : 0;
    case BIO_C_GET_FD:
      if (ptr && l) *static_cast<int*>(ptr) = l->fd;
      return l ? l->fd : -1;
    default:
      return 0;
  }
}

BIO_METHOD* send_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "asyndgan socket");
    if (!m || !BIO_meth_set_write_ex(m, bio_write) || !BIO_meth_set_read_ex(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl))
      throw TlsError("cannot create OpenSSL's socket BIO method (out of memory?)");
    return m;
  }();
  return method;
}

bool is_address(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

class TlsStream final : public Stream {
 public:
  TlsStream(SSL_CTX* ctx, Socket socket, const TlsSide& side)
      : socket_(std::move(socket)), peer_(socket_.peer()), server_(side.server) {
    // Errors name the address, and the host the site dialled when that was a name.
    where_ = side.server_host.empty() || side.server_host == peer_.substr(0, peer_.rfind(':'))
                 ? peer_
                 : msg(side.server_host, " (", peer_, ")");
    link_.fd = socket_.fd();
    link_.expected_name = side.expected_name;
    ssl_ = SSL_new(ctx);
    BIO* bio = ssl_ ? BIO_new(send_bio_method()) : nullptr;
    if (!bio) {
      if (ssl_) SSL_free(ssl_);
      ssl_ = nullptr;
      throw TlsError(msg("cannot start TLS with ", where_, ": ", openssl_errors()));
    }
    BIO_set_data(bio, &link_);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO now
    SSL_set_app_data(ssl_, &link_);
    if (server_) {
      SSL_set_accept_state(ssl_);
    } else {
      SSL_set_connect_state(ssl_);
      if (!side.server_host.empty() && !is_address(side.server_host))
        SSL_set_tlsext_host_name(ssl_, side.server_host.c_str());
    }
  }
  ~TlsStream() override { close(); }

  void handshake(Deadline deadline) {
    for (;;) {
      ERR_clear_error();
      const int r = SSL_do_handshake(ssl_);
      if (r == 1) break;
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        wait_ready(socket_.fd(), e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, where_,
                   "in the TLS handshake with");
        continue;
      }
      fail(e, true);
    }
    SSL_set_app_data(ssl_, nullptr);  // the callback's Link is for the handshake alone
    name_ = certificate_cn(SSL_get0_peer_certificate(ssl_));
    // Both sides demand a verified certificate, so only one without a common name can end up here.
    if (name_.empty() || SSL_get_verify_result(ssl_) != X509_V_OK)
      throw TlsError(msg("TLS handshake with ", where_,
                         ": the peer's certificate names no one (no common name, CN): "
                         "make the certificates with `asyndgan certs`"));
  }

  size_t read_some(uint8_t* buf, size_t n, Deadline deadline) override {
    check_open("read from");
    if (n == 0) return 0;
    for (;;) {
      ERR_clear_error();
      size_t got = 0;
      const int r = SSL_read_ex(ssl_, buf, n, &got);
      if (r == 1) return got;
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;  // the peer's close_notify: an orderly end
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        wait_ready(socket_.fd(), e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, where_, "reading from");
        continue;
      }
      fail(e, false);
    }
  }

  void write_all(const uint8_t* data, size_t n, Deadline deadline) override {
    check_open("write to");
    while (n > 0) {
      ERR_clear_error();
      size_t written = 0;
      // A retry after WANT_* passes the same pointer and length, as OpenSSL requires.
      const int r = SSL_write_ex(ssl_, data, n, &written);
      if (r == 1) {
        data += written;
        n -= written;
        continue;
      }
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        wait_ready(socket_.fd(), e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, where_, "writing to");
        continue;
      }
      fail(e, false);
    }
  }

  bool has_buffered() const override { return ssl_ && SSL_pending(ssl_) > 0; }
  int fd() const override { return socket_.fd(); }

  void close() override {
    if (!socket_.valid()) return;
    if (ssl_) {
      // One try at close_notify without waiting for the peer's: OpenSSL forbids SSL_shutdown after a fatal error.
      if (!failed_ && SSL_is_init_finished(ssl_)) {
        ERR_clear_error();
        SSL_shutdown(ssl_);
      }
      ERR_clear_error();
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    close_after_drain(socket_);
  }

  const std::string& peer() const override { return peer_; }
  const std::string& peer_name() const override { return name_; }

 private:
  void check_open(const char* what) const {
    if (!socket_.valid()) throw NetError(msg("cannot ", what, " ", where_, ": the stream is closed"));
    if (failed_) throw NetError(msg("cannot ", what, " ", where_, ": the TLS connection failed earlier"));
  }

  [[noreturn]] void fail(int ssl_error, bool handshake) {
    failed_ = true;
    TlsFailure f;
    f.peer = where_;
    f.server = server_;
    f.handshake = handshake;
    f.ssl_error = ssl_error;
    f.saved_errno = link_.eof ? 0 : link_.last_errno;
    f.verify_result = SSL_get_verify_result(ssl_);
    f.expected_name = link_.expected_name;
    f.rejected_name = link_.rejected_name;
    throw_tls_failure(f);
  }

  Socket socket_;
  std::string peer_, where_, name_;
  bool server_ = false;
  bool failed_ = false;
  Link link_;
  SSL* ssl_ = nullptr;
};

}  // namespace

std::string certificate_cn(const X509* cert) {
  if (!cert) return "";
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return "";
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
  if (len < 0) return "";
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return cn;
}

int tls_verify_callback(int preverify_ok, X509_STORE_CTX* store) {
  if (!preverify_ok || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  Link* link = ssl ? static_cast<Link*>(SSL_get_app_data(ssl)) : nullptr;
  if (!link || link->expected_name.empty()) return 1;  // the server: the central node checks the CN against Hello
  const std::string cn = certificate_cn(X509_STORE_CTX_get_current_cert(store));
  if (cn == link->expected_name) return 1;
  link->rejected_name = cn;
  X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
  return 0;
}

std::unique_ptr<Stream> tls_handshake(SSL_CTX* ctx, Socket socket, const TlsSide& side, Deadline deadline) {
  if (!socket.valid()) throw NetError("TLS handshake: no connected socket");
  auto stream = std::make_unique<TlsStream>(ctx, std::move(socket), side);
  stream->handshake(deadline);
  return stream;
}

}  // namespace asyndgan::net
