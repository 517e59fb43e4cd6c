// The words for TLS failures (dist/net/tls_diagnosis.h).
#include "dist/net/tls_diagnosis.h"
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <cstring>
#include <vector>
#include "dist/net/errors.h"

namespace asyndgan::net {
namespace {

const char* const kSameRun = "give every node the ca.pem of one `asyndgan certs` run and the certificates made with it";

// The verdict of this side on the peer's certificate, in words; "" when the certificate was accepted.
std::string verify_words(const TlsFailure& f) {
  const long v = f.verify_result;
  const std::string detail = msg(" (", X509_verify_cert_error_string(v), ")");
  switch (v) {
    case X509_V_OK:
      return "";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_AKID_SKID_MISMATCH:
    case X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH:
      return msg("the peer's certificate is not signed by this run's CA", detail, ": ", kSameRun);
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return msg("the peer's certificate has expired", detail, ": make new ones with `asyndgan certs --force`");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return msg("the peer's certificate is not valid yet", detail, ": check both machines' clocks");
    case X509_V_ERR_INVALID_PURPOSE:
      return f.server ? msg("the peer's certificate is not a site's client certificate", detail,
                            ": a site connects with its own SITE.pem and SITE.key, not central.pem")
                      : msg("the server's certificate is not a TLS server certificate", detail,
                            ": the central node must use central.pem and central.key, not a site's");
    case X509_V_ERR_HOSTNAME_MISMATCH:
      if (!f.rejected_name.empty())
        return msg(
            "the server's certificate is for '", f.rejected_name, "', not '", f.expected_name,
            "': the central node must use central.pem and central.key (a site's certificate used as the server?)");
      return msg("the server's certificate does not name '", f.expected_name, "'", detail);
    default:
      return msg("the peer's certificate was refused", detail, ": ", kSameRun);
  }
}

// OpenSSL's reason codes of the libssl errors in the queue, oldest first.
std::vector<int> ssl_reasons(const std::vector<unsigned long>& errors) {
  std::vector<int> out;
  for (unsigned long e : errors)
    if (ERR_GET_LIB(e) == ERR_LIB_SSL) out.push_back(ERR_GET_REASON(e));
  return out;
}

bool any_of(const std::vector<int>& reasons, std::initializer_list<int> wanted) {
  for (int r : reasons)
    for (int w : wanted)
      if (r == w) return true;
  return false;
}

std::string queue_text(const std::vector<unsigned long>& errors) {
  std::string out;
  char buf[256];
  for (unsigned long e : errors) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}

std::vector<unsigned long> drain() {
  std::vector<unsigned long> errors;
  while (const unsigned long e = ERR_get_error()) errors.push_back(e);
  return errors;
}

}  // namespace

std::string openssl_errors() { return queue_text(drain()); }

void throw_tls_failure(const TlsFailure& f) {
  const std::vector<unsigned long> errors = drain();
  const std::vector<int> reasons = ssl_reasons(errors);
  const std::string what =
      f.handshake ? msg("TLS handshake with ", f.peer, " failed: ") : msg("TLS connection with ", f.peer, " failed: ");
  const std::string openssl = errors.empty() ? "" : " [OpenSSL: " + queue_text(errors) + "]";

  if (const std::string words = verify_words(f); !words.empty()) throw TlsError(what + words + openssl);
  if (any_of(reasons,
             {SSL_R_WRONG_VERSION_NUMBER, SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_UNKNOWN_PROTOCOL,
              SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_RECORD_LENGTH_MISMATCH, SSL_R_LENGTH_TOO_SHORT}) &&
      f.handshake)
    throw TlsError(what +
                   (f.server ? "the peer is not speaking TLS (plaintext client? start it without --insecure)"
                             : "the server is not speaking TLS (a central node started with --insecure? "
                               "start both sides with TLS, or both with --insecure)") +
                   openssl);
  if (any_of(reasons, {SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_NO_PROTOCOLS_AVAILABLE,
                       SSL_R_VERSION_TOO_LOW}))
    throw TlsError(what +
                   "the peer does not speak TLS 1.3 (it offered TLS 1.2 or older); this run requires TLS 1.3 "
                   "on both sides (OpenSSL 1.1.1 or newer, no TLS 1.2 limit)" +
                   openssl);
  if (any_of(reasons, {SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED}))
    throw TlsError(what +
                   (f.server ? "the peer sent no certificate: a site must connect with its SITE.pem and SITE.key"
                             : "the server asked for this site's certificate and got none: give the site its "
                               "SITE.pem and SITE.key") +
                   openssl);
  if (any_of(reasons,
             {SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
              SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
              SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED, SSL_R_TLSV1_ALERT_DECRYPT_ERROR, SSL_R_TLSV1_ALERT_ACCESS_DENIED}))
    throw TlsError(what +
                   "the peer refused this node's certificate: is it signed by the peer's run CA, and is it "
                   "this node's own (central.pem for the central node, SITE.pem for a site)? " +
                   kSameRun + openssl);
  if (any_of(reasons, {SSL_R_UNEXPECTED_EOF_WHILE_READING}) || (f.ssl_error == SSL_ERROR_SYSCALL && f.saved_errno == 0))
    throw NetError(what +
                   (f.handshake ? "the peer closed the connection during the handshake (did it refuse this "
                                  "node? its log says why)"
                                : "the peer closed the connection without a TLS close_notify (it crashed, was "
                                  "stopped, or the network cut the connection)") +
                   openssl);
  if (f.ssl_error == SSL_ERROR_SYSCALL)
    throw NetError(what + std::strerror(f.saved_errno) + " (the peer crashed or the network dropped the connection)" +
                   openssl);
  throw TlsError(what + (errors.empty() ? "an unexplained TLS error" : queue_text(errors)));
}

}  // namespace asyndgan::net
