// What the TLS layer refuses, and what it says: another run's CA either way, a site's certificate as the server,
// the wrong server name, a plaintext client, a TLS 1.2 client, a silent peer, and bad or mixed files.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <fstream>
#include <future>
#include "tests/data/cli_util.h"
#include "tests/dist/net_test_util.h"

using namespace asyndgan;
using namespace std::chrono_literals;
using test::soon;

namespace {

// A site that has this run's CA but a certificate of another run: ca.pem lists both CAs, so the site itself
// accepts the server, and the files pass the load-time check (its certificate chains to one of them).
net::TlsFiles foreign_site(const test::RunCerts& run, const test::RunCerts& other) {
  const std::string both = other.file("both_cas.pem");
  std::ofstream(both) << test::read_text_file(run.file("ca.pem")) << test::read_text_file(other.file("ca.pem"));
  return {both, other.file("SiteA.pem"), other.file("SiteA.key")};
}

// The client's first read after a handshake the server refused: TLS 1.3 lets the client finish first.
std::string first_read_error(net::Stream& s) {
  try {
    uint8_t b = 0;
    const size_t n = s.read_some(&b, 1, soon(3000));
    return n == 0 ? "<orderly close>" : "<a byte>";
  } catch (const net::NetError& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("net: a site whose certificate is of another CA is refused by the server, which says so") {
  const test::RunCerts run("refuse_client_ca"), other("refuse_client_ca_other");
  const net::TlsServer server(run.files("central"));
  const net::TlsClient site(foreign_site(run, other));
  test::Ends ends = test::tls_ends(server, site);
  CHECK(ends.server.kind == "tls");
  CHECK(test::contains_all(ends.server.error,
                           {"TLS handshake with 127.0.0.1:", "not signed by this run's CA", "ca.pem"}));
  if (ends.client.stream) {
    const std::string m = first_read_error(*ends.client.stream);
    CHECK(m.find("TLS") != std::string::npos);  // the server's alert, or the broken connection: never data
  } else {
    CHECK(ends.client.kind != "");
  }
}

TEST_CASE("net: a central node whose certificate is of another CA is refused by the site, which says so") {
  const test::RunCerts run("refuse_server_ca"), other("refuse_server_ca_other");
  const net::TlsServer server(other.files("central"));
  const net::TlsClient site(run.files("SiteA"));
  test::Ends ends = test::tls_ends(server, site);
  CHECK(ends.client.kind == "tls");
  CHECK(test::contains_all(ends.client.error, {"TLS handshake with 127.0.0.1:", "not signed by this run's CA"}));
  // The site's alert tells the central node why in its own log.
  CHECK(ends.server.kind == "tls");
  CHECK(test::contains_all(ends.server.error, {"the peer refused this node's certificate"}));
}

TEST_CASE("net: a site's certificate used by the server is refused by the site") {
  const test::RunCerts run("refuse_site_as_server");
  const net::TlsServer impostor(run.files("SiteB"));
  const net::TlsClient site(run.files("SiteA"));
  test::Ends ends = test::tls_ends(impostor, site);
  CHECK(ends.client.kind == "tls");
  CHECK(test::contains_all(ends.client.error, {"not a TLS server certificate", "central.pem"}));
  CHECK(ends.server.kind == "tls");
}

TEST_CASE("net: the central node's certificate used by a site is refused by the server") {
  const test::RunCerts run("refuse_central_as_client");
  const net::TlsServer server(run.files("central"));
  const net::TlsClient impostor(run.files("central"));
  test::Ends ends = test::tls_ends(server, impostor);
  CHECK(ends.server.kind == "tls");
  CHECK(test::contains_all(ends.server.error, {"not a site's client certificate", "SITE.pem"}));
}

TEST_CASE("net: a server whose CN is not the expected name is refused by the site, naming both names") {
  const test::RunCerts run("refuse_server_name");
  const net::TlsServer server(run.files("central"));
  const net::TlsClient site(run.files("SiteA"), "central-2");
  test::Ends ends = test::tls_ends(server, site);
  CHECK(ends.client.kind == "tls");
  CHECK(test::contains_all(ends.client.error, {"is for 'central', not 'central-2'"}));
  CHECK(ends.server.kind == "tls");
  CHECK_THROWS_AS(net::TlsClient(run.files("SiteA"), ""), ValueError);
}

TEST_CASE("net: a plaintext client at the TLS server is refused as not speaking TLS, well within the deadline") {
  const test::RunCerts run("refuse_plaintext");
  const net::TlsServer server(run.files("central"));
  const auto t0 = std::chrono::steady_clock::now();
  test::Ends ends =
      test::both_ends([&](net::Socket s) { return server.accept(std::move(s), soon(5000)); },
                      [](net::Socket s) {
                        auto plain = net::plain_stream(std::move(s), "central");
                        // What a site started with --insecure sends first: a frame header.
                        test::write_text(*plain, std::string("ADGN\x01\x00\x00\x01", 8) + std::string(56, 'h'));
                        return plain;
                      });
  CHECK(ends.server.kind == "tls");
  CHECK(test::contains_all(ends.server.error, {"the peer is not speaking TLS", "--insecure"}));
  CHECK(test::seconds_since(t0) < 3.0);
}

TEST_CASE("net: a TLS 1.2 client is refused by the server, which asks for TLS 1.3") {
  const test::RunCerts run("refuse_tls12");
  const net::TlsServer server(run.files("central"));
  test::Loopback lo;
  auto central = std::async(std::launch::async,
                            [&] { return test::attempt([&] { return server.accept(lo.accept(), soon(5000)); }); });
  // An OpenSSL client that stops at TLS 1.2, with a valid site certificate: only the version is wrong.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  REQUIRE(ctx);
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_use_certificate_file(ctx, run.file("SiteA.pem").c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_use_PrivateKey_file(ctx, run.file("SiteA.key").c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_load_verify_locations(ctx, run.file("ca.pem").c_str(), nullptr);
  net::Socket sock = lo.connect();
  const int flags = ::fcntl(sock.fd(), F_GETFL);
  ::fcntl(sock.fd(), F_SETFL, flags & ~O_NONBLOCK);  // a plain blocking client; the server bounds the wait
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, sock.fd());
  const int connected = SSL_connect(ssl);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  sock.reset();
  CHECK(connected != 1);
  const test::Attempt a = central.get();
  CHECK(a.kind == "tls");
  CHECK(test::contains_all(a.error, {"does not speak TLS 1.3", "TLS 1.2 or older"}));
}

TEST_CASE("net: a peer that connects and sends nothing is a NetTimeout at the handshake's deadline") {
  const test::RunCerts run("refuse_silent");
  const net::TlsServer server(run.files("central"));
  test::Loopback lo;
  const net::Socket silent = lo.connect();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string m =
      test::error_message<net::NetTimeout>([&] { server.accept(lo.accept(), net::Deadline::after(500ms)); });
  const double s = test::seconds_since(t0);
  CHECK(test::contains_all(m, {"timed out in the TLS handshake with 127.0.0.1:"}));
  CHECK(s >= 0.49);
  CHECK(s < 2.5);
}

TEST_CASE("net: TLS files that are missing, mismatched or of two runs are refused at load, naming the file") {
  const test::RunCerts run("tls_files"), other("tls_files_other");
  net::TlsFiles files = run.files("SiteA");
  files.key = run.file("SiteC.key");
  std::string m = test::error_message<net::TlsError>([&] { net::TlsClient c(files); });
  CHECK(test::contains_all(m, {"cannot read the site key", run.file("SiteC.key"), "asyndgan certs"}));

  files = run.files("central");
  files.cert = run.file("nope.pem");
  m = test::error_message<net::TlsError>([&] { net::TlsServer s(files); });
  CHECK(test::contains_all(m, {"cannot read the central node's certificate", run.file("nope.pem")}));

  files = run.files("SiteA");
  files.key = run.file("SiteB.key");
  m = test::error_message<net::TlsError>([&] { net::TlsClient c(files); });
  CHECK(test::contains_all(m, {"the site key", run.file("SiteB.key"), "does not belong to", run.file("SiteA.pem")}));

  files = run.files("SiteA");
  files.ca = other.file("ca.pem");
  m = test::error_message<net::TlsError>([&] { net::TlsClient c(files); });
  CHECK(test::contains_all(m, {run.file("SiteA.pem"), "does not chain to the CA certificate", other.file("ca.pem")}));

  files = run.files("central");
  files.cert = run.file("central.key");  // a key where the certificate belongs
  m = test::error_message<net::TlsError>([&] { net::TlsServer s(files); });
  CHECK(test::contains_all(m, {"cannot load the central node's certificate", run.file("central.key")}));
}
