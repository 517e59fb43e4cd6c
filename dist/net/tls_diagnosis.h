// Turns a failed TLS operation (OpenSSL's error queue, the verify result, errno) into an error that says what
// happened in words and what to do: another CA, a plaintext peer, an old TLS version, the wrong server name.
#pragma once
#include <string>

namespace asyndgan::net {

struct TlsFailure {
  std::string peer;           // "127.0.0.1:40312"
  bool server = false;        // this side is the central node
  bool handshake = false;     // failed during the handshake (else on an established stream)
  int ssl_error = 0;          // SSL_get_error's answer
  int saved_errno = 0;        // errno right after the failed call (SSL_ERROR_SYSCALL)
  long verify_result = 0;     // SSL_get_verify_result: this side's verdict on the peer's certificate
  std::string expected_name;  // client: the CN the server must have
  std::string rejected_name;  // client: the CN the server had instead, when that was the refusal
};

// Throws TlsError for a TLS refusal, NetError for a broken connection (reset, EOF without close_notify). Drains
// this thread's OpenSSL error queue.
[[noreturn]] void throw_tls_failure(const TlsFailure& failure);

// The thread's OpenSSL error queue as text ("error:...: reason; ..."), drained; "" when empty.
std::string openssl_errors();

}  // namespace asyndgan::net
