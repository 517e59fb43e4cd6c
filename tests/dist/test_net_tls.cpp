// Mutual TLS 1.3 between the central node and a site over loopback: names, both directions, a large transfer in
// random pieces, buffered bytes, orderly close and timeouts.
#include <doctest/doctest.h>
#include <algorithm>
#include <cstring>
#include <future>
#include <random>
#include <thread>
#include "tests/dist/net_test_util.h"

using namespace asyndgan;
using namespace std::chrono_literals;
using test::soon;

TEST_CASE("net: a TLS round trip both ways, the server seeing the site's CN and the site seeing 'central'") {
  const test::RunCerts run("tls_round_trip");
  const net::TlsServer server(run.files("central"));
  const net::TlsClient client(run.files("SiteA"));
  test::Ends ends = test::tls_ends(server, client);
  REQUIRE_MESSAGE(ends.server.stream, ends.server.error);
  REQUIRE_MESSAGE(ends.client.stream, ends.client.error);
  net::Stream& central = *ends.server.stream;
  net::Stream& site = *ends.client.stream;
  CHECK(central.peer_name() == "SiteA");
  CHECK(site.peer_name() == "central");
  CHECK(central.peer().starts_with("127.0.0.1:"));
  CHECK(site.peer().starts_with("127.0.0.1:"));
  CHECK(central.fd() >= 0);

  test::write_text(site, "Hello from SiteA");
  CHECK(test::read_text(central, 16) == "Hello from SiteA");
  test::write_text(central, "Welcome");
  // One byte taken: the rest of the record is decrypted and buffered, where poll() on fd() cannot see it.
  uint8_t first = 0;
  CHECK(site.read_some(&first, 1, soon()) == 1);
  CHECK(first == 'W');
  CHECK(site.has_buffered());
  CHECK(test::read_text(site, 6) == "elcome");
  CHECK_FALSE(site.has_buffered());

  // A site on another name, same run: the server reports that CN.
  const net::TlsClient other(run.files("SiteB"));
  test::Ends b = test::tls_ends(server, other);
  REQUIRE_MESSAGE(b.server.stream, b.server.error);
  CHECK(b.server.stream->peer_name() == "SiteB");
}

TEST_CASE("net: 64 MiB over TLS, written and read in random-sized pieces, arrive intact") {
  const test::RunCerts run("tls_64mib");
  const net::TlsServer server(run.files("central"));
  const net::TlsClient client(run.files("SiteA"));
  test::Ends ends = test::tls_ends(server, client);
  REQUIRE_MESSAGE(ends.server.stream, ends.server.error);
  REQUIRE_MESSAGE(ends.client.stream, ends.client.error);

  const size_t total = size_t{64} << 20;
  std::vector<uint8_t> sent(total);
  std::mt19937_64 gen(13);
  for (size_t i = 0; i < total; i += 8) {
    const uint64_t v = gen();
    std::memcpy(sent.data() + i, &v, 8);
  }
  auto writer = std::async(std::launch::async, [&] {
    std::mt19937 sizes(1);
    for (size_t at = 0; at < total;) {
      const size_t n = std::min<size_t>(total - at, 1 + sizes() % (3 << 20));
      ends.server.stream->write_all(sent.data() + at, n, soon(30000));
      at += n;
    }
  });
  std::vector<uint8_t> got(total);
  std::mt19937 sizes(2);
  size_t at = 0, reads = 0;
  while (at < total) {
    const size_t want = std::min<size_t>(total - at, 1 + sizes() % 200000);
    const size_t r = ends.client.stream->read_some(got.data() + at, want, soon(30000));
    if (r == 0 || r > want) break;  // checked below: the loop must end with every byte read
    at += r;
    ++reads;
  }
  writer.get();
  CHECK(at == total);
  CHECK(reads > 100);
  CHECK(got == sent);
}

TEST_CASE(
    "net: after the peer's close a TLS read returns 0 (close_notify), after what it sent before, and a write "
    "fails without SIGPIPE") {
  const test::RunCerts run("tls_close");
  const net::TlsServer server(run.files("central"));
  const net::TlsClient client(run.files("SiteA"));
  test::Ends ends = test::tls_ends(server, client);
  REQUIRE_MESSAGE(ends.server.stream, ends.server.error);
  REQUIRE_MESSAGE(ends.client.stream, ends.client.error);
  test::write_text(*ends.server.stream, "bye");
  ends.server.stream->close();
  ends.server.stream->close();  // idempotent
  CHECK(ends.server.stream->fd() == -1);
  CHECK(test::read_text(*ends.client.stream, 3) == "bye");
  uint8_t b = 0;
  CHECK(ends.client.stream->read_some(&b, 1, soon()) == 0);
  CHECK(ends.client.stream->read_some(&b, 1, soon()) == 0);
  CHECK_THROWS_AS(ends.server.stream->write_all(&b, 1, soon()), net::NetError);
  // Writing on after the peer has gone: a NetError, not a SIGPIPE that would kill the process (OpenSSL's own
  // socket BIO would raise one).
  const std::vector<uint8_t> block(1 << 16, 7);
  const std::string m = test::error_message<net::NetError>([&] {
    for (int i = 0; i < 200; ++i) {
      ends.client.stream->write_all(block.data(), block.size(), soon());
      std::this_thread::sleep_for(1ms);
    }
  });
  CHECK(test::contains_all(m, {"TLS connection with 127.0.0.1:", "failed"}));

  // The site closes first: the same on the other side.
  test::Ends again = test::tls_ends(server, client);
  REQUIRE_MESSAGE(again.server.stream, again.server.error);
  REQUIRE_MESSAGE(again.client.stream, again.client.error);
  again.client.stream->close();
  CHECK(again.server.stream->read_some(&b, 1, soon()) == 0);
}

TEST_CASE("net: a TLS read with nothing sent is a NetTimeout at the deadline, and the stream still works after it") {
  const test::RunCerts run("tls_read_timeout");
  const net::TlsServer server(run.files("central"));
  const net::TlsClient client(run.files("SiteA"));
  test::Ends ends = test::tls_ends(server, client);
  REQUIRE_MESSAGE(ends.server.stream, ends.server.error);
  REQUIRE_MESSAGE(ends.client.stream, ends.client.error);
  uint8_t buf[8];
  const auto t0 = std::chrono::steady_clock::now();
  const std::string m = test::error_message<net::NetTimeout>(
      [&] { ends.server.stream->read_some(buf, sizeof buf, net::Deadline::after(300ms)); });
  const double s = test::seconds_since(t0);
  CHECK(test::contains_all(m, {"timed out reading from", "127.0.0.1:"}));
  CHECK(s >= 0.29);
  CHECK(s < 2.0);
  test::write_text(*ends.client.stream, "ok");
  CHECK(test::read_text(*ends.server.stream, 2) == "ok");
}
