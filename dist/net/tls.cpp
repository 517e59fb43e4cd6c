// The TLS 1.3 contexts of the central node and the sites: loading and checking the run's files (dist/net/tls.h).
#include "dist/net/tls.h"
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <cerrno>
#include <cstdio>
#include "dist/net/errors.h"
#include "dist/net/socket_ops.h"
#include "dist/net/tls_diagnosis.h"
#include "dist/net/tls_stream.h"

namespace asyndgan::net {
namespace {

constexpr const char* kMakeThem = "make them with `asyndgan certs`";

// What the files are, in the words of the node that loads them.
struct Labels {
  std::string cert, key;
};
Labels labels(bool server) {
  return server ? Labels{"central node's certificate", "central node's key"} : Labels{"site certificate", "site key"};
}

// Opening first gives the system's reason (no such file, permission denied), which OpenSSL's queue buries.
void require_readable(const std::string& path, const std::string& what) {
  if (path.empty())
    throw TlsError(msg("no path given for the ", what, ": ", kMakeThem, " and name the file in the config"));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw TlsError(msg("cannot read the ", what, " ", path, ": ", errno_text(errno), "; ", kMakeThem));
  std::fclose(f);
}

// This node's certificate must chain to the CA it will check the peer against: mixing files of two runs is
// caught here, at start, rather than as a refused handshake on the other machine.
void check_own_chain(SSL_CTX* ctx, const TlsFiles& files, const Labels& l) {
  X509_STORE_CTX* check = X509_STORE_CTX_new();
  if (!check) throw TlsError("out of memory checking the certificates");
  X509_STORE_CTX_init(check, SSL_CTX_get_cert_store(ctx), SSL_CTX_get0_certificate(ctx), nullptr);
  const int ok = X509_verify_cert(check);
  const int error = X509_STORE_CTX_get_error(check);
  X509_STORE_CTX_free(check);
  ERR_clear_error();
  if (ok == 1) return;
  if (error == X509_V_ERR_CERT_HAS_EXPIRED)
    throw TlsError(msg("the ", l.cert, " ", files.cert, " has expired: make new ones with `asyndgan certs --force`"));
  throw TlsError(msg("the ", l.cert, " ", files.cert, " does not chain to the CA certificate ", files.ca, " (",
                     X509_verify_cert_error_string(error),
                     "): use the ca.pem of the `asyndgan certs` run that made it"));
}

std::shared_ptr<SSL_CTX> make_context(const TlsFiles& files, bool server) {
  const Labels l = labels(server);
  require_readable(files.ca, "CA certificate");
  require_readable(files.cert, l.cert);
  require_readable(files.key, l.key);
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()), SSL_CTX_free);
  if (!ctx) throw TlsError(msg("cannot create a TLS context: ", openssl_errors()));
  SSL_CTX* c = ctx.get();
  if (!SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION))
    throw TlsError(msg("this OpenSSL cannot do TLS 1.3: ", openssl_errors(), " (install OpenSSL 3)"));
  if (SSL_CTX_load_verify_locations(c, files.ca.c_str(), nullptr) != 1)
    throw TlsError(msg("cannot load the CA certificate ", files.ca, ": ", openssl_errors(), "; ", kMakeThem));
  if (SSL_CTX_use_certificate_chain_file(c, files.cert.c_str()) != 1)
    throw TlsError(msg("cannot load the ", l.cert, " ", files.cert, ": ", openssl_errors(), "; ", kMakeThem));
  // Parsed apart from SSL_CTX_use_PrivateKey, which also compares it with the certificate: a key that does not
  // parse and a key of another certificate need different words.
  std::FILE* key_file = std::fopen(files.key.c_str(), "rb");
  EVP_PKEY* key = key_file ? PEM_read_PrivateKey(key_file, nullptr, nullptr, nullptr) : nullptr;
  if (key_file) std::fclose(key_file);
  if (!key) throw TlsError(msg("cannot load the ", l.key, " ", files.key, ": ", openssl_errors(), "; ", kMakeThem));
  const bool key_taken = SSL_CTX_use_PrivateKey(c, key) == 1;
  EVP_PKEY_free(key);
  if (!key_taken || SSL_CTX_check_private_key(c) != 1)
    throw TlsError(msg("the ", l.key, " ", files.key, " does not belong to the ", l.cert, " ", files.cert, " (",
                       openssl_errors(), "): give the .key and .pem of one name from one `asyndgan certs` run"));
  check_own_chain(c, files, l);
  // Mandatory both ways; the server refuses a client without a certificate.
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), tls_verify_callback);
  // write_all() loops over partial writes; a retried write may come from the same buffer at another address.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One long-lived connection per site: no resumption, so no session tickets arriving unasked after the handshake.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  if (server) {
    SSL_CTX_set_num_tickets(c, 0);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca.c_str())) SSL_CTX_set_client_CA_list(c, names);
  }
  ERR_clear_error();
  return ctx;
}

}  // namespace

TlsServer::TlsServer(const TlsFiles& files) : ctx_(make_context(files, true)) {}

std::unique_ptr<Stream> TlsServer::accept(Socket socket, Deadline deadline) const {
  return tls_handshake(ctx_.get(), std::move(socket), TlsSide{true, "", ""}, deadline);
}

TlsClient::TlsClient(const TlsFiles& files, std::string expected_server_name)
    : ctx_(make_context(files, false)), expected_server_name_(std::move(expected_server_name)) {
  if (expected_server_name_.empty())
    throw ValueError("TlsClient: the expected server name is empty (the central node's is 'central')");
}

std::unique_ptr<Stream> TlsClient::connect(Socket socket, std::string server_host, Deadline deadline) const {
  return tls_handshake(ctx_.get(), std::move(socket), TlsSide{false, expected_server_name_, std::move(server_host)},
                       deadline);
}

}  // namespace asyndgan::net
