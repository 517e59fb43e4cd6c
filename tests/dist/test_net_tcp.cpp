// TCP under deadlines: endpoints, connect errors, the plaintext (--insecure) stream, orderly close, timeouts,
// and no SIGPIPE from a peer that has gone.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <thread>
#include "dist/net/deadline.h"
#include "tests/dist/net_test_util.h"

using namespace asyndgan;
using namespace std::chrono_literals;
using test::soon;

TEST_CASE(
    "net: parse_endpoint reads host:port, [ipv6]:port and 0.0.0.0:0, and names the text and the form when it "
    "cannot") {
  net::Endpoint e = net::parse_endpoint("central.example.org:7443");
  CHECK(e.host == "central.example.org");
  CHECK(e.port == 7443);
  e = net::parse_endpoint("[::1]:9000");
  CHECK(e.host == "::1");
  CHECK(e.port == 9000);
  e = net::parse_endpoint("0.0.0.0:0");
  CHECK(e.host == "0.0.0.0");
  CHECK(e.port == 0);
  CHECK(net::to_string(net::parse_endpoint("[::1]:9000")) == "[::1]:9000");
  CHECK(net::to_string(net::parse_endpoint("10.0.0.1:65535")) == "10.0.0.1:65535");

  for (const char* bad : {"central", "central:", ":7443", "central:65536", "central:-1", "central:12x", "::1:9000",
                          "[::1]9000", "[::1:9000", "[central]:9000", ""}) {
    CAPTURE(bad);
    const std::string m = test::error_message<ValueError>([&] { net::parse_endpoint(bad); });
    CHECK(test::contains_all(m, {"'" + std::string(bad) + "'", "host:port"}));
  }
}

TEST_CASE("net: Deadline never waits forever in poll terms, after() counts down and an expired one is 0") {
  CHECK(net::Deadline::never().remaining_ms() == -1);
  CHECK_FALSE(net::Deadline::never().expired());
  const net::Deadline d = net::Deadline::after(200ms);
  CHECK(d.remaining_ms() > 100);
  CHECK(d.remaining_ms() <= 200);
  CHECK_FALSE(d.expired());
  const net::Deadline past = net::Deadline::after(-5ms);
  CHECK(past.expired());
  CHECK(past.remaining_ms() == 0);
  CHECK(net::Deadline::after(std::chrono::milliseconds::max()).is_never());
}

TEST_CASE(
    "net: a connect to a closed port is a NetError naming the endpoint and asking whether the central node runs") {
  uint16_t port = 0;
  {
    const net::Listener gone = net::Listener::bind({"127.0.0.1", 0});
    port = gone.port();
  }
  const std::string m = test::error_message<net::NetError>([&] { net::connect_tcp({"127.0.0.1", port}, soon(3000)); });
  CHECK(test::contains_all(m, {"127.0.0.1:" + std::to_string(port), "connection refused", "central node running"}));
}

TEST_CASE("net: a listener on port 0 picks a free port, says it in local(), and accept times out at its deadline") {
  net::Listener l = net::Listener::bind(net::parse_endpoint("127.0.0.1:0"));
  CHECK(l.port() != 0);
  CHECK(l.local() == "127.0.0.1:" + std::to_string(l.port()));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(l.accept(net::Deadline::after(300ms)), net::NetTimeout);
  const double s = test::seconds_since(t0);
  CHECK(s >= 0.29);
  CHECK(s < 2.0);
  // A second listener on the same port is refused with the reason and a way out.
  const std::string m = test::error_message<net::NetError>([&] { net::Listener::bind({"127.0.0.1", l.port()}); });
  CHECK(test::contains_all(m, {"127.0.0.1:" + std::to_string(l.port()), "port 0"}));
}

TEST_CASE("net: a plaintext stream carries bytes both ways, names its peer, and reads 0 after the peer's close") {
  test::Ends ends = test::both_ends([](net::Socket s) { return net::plain_stream(std::move(s), "site"); },
                                    [](net::Socket s) {
                                      const std::string peer = s.peer();
                                      return net::plain_stream(std::move(s), peer);
                                    });
  REQUIRE(ends.server.stream);
  REQUIRE(ends.client.stream);
  net::Stream& server = *ends.server.stream;
  net::Stream& client = *ends.client.stream;
  CHECK(client.peer().starts_with("127.0.0.1:"));
  CHECK(client.peer_name().empty());
  CHECK_FALSE(client.has_buffered());
  test::write_text(client, "hello central");
  CHECK(test::read_text(server, 13) == "hello central");
  test::write_text(server, "hello site");
  CHECK(test::read_text(client, 10) == "hello site");

  server.close();
  server.close();  // idempotent
  CHECK(server.fd() == -1);
  uint8_t b = 0;
  CHECK(client.read_some(&b, 1, soon()) == 0);
  CHECK(client.read_some(&b, 1, soon()) == 0);
  CHECK_THROWS_AS(server.write_all(&b, 1, soon()), net::NetError);
  // read_exact: the close before n bytes is an error naming the peer.
  const std::string m = test::error_message<net::NetError>([&] { test::read_text(client, 4); });
  CHECK(test::contains_all(m, {client.peer(), "closed the connection after 0 of 4 bytes"}));
}

TEST_CASE("net: a read from a silent peer is a NetTimeout at the deadline, and the stream still works after it") {
  test::Ends ends = test::both_ends([](net::Socket s) { return net::plain_stream(std::move(s), "site"); },
                                    [](net::Socket s) { return net::plain_stream(std::move(s), "central"); });
  REQUIRE(ends.server.stream);
  REQUIRE(ends.client.stream);
  uint8_t buf[16];
  const auto t0 = std::chrono::steady_clock::now();
  const std::string m = test::error_message<net::NetTimeout>(
      [&] { ends.server.stream->read_some(buf, sizeof buf, net::Deadline::after(300ms)); });
  const double s = test::seconds_since(t0);
  CHECK(test::contains_all(m, {"timed out", "site"}));
  CHECK(s >= 0.29);
  CHECK(s < 2.0);
  test::write_text(*ends.client.stream, "late");
  CHECK(test::read_text(*ends.server.stream, 4) == "late");
}

TEST_CASE("net: writing to a peer that has gone is a NetError, not a SIGPIPE that kills the process") {
  test::Ends ends = test::both_ends([](net::Socket s) { return net::plain_stream(std::move(s), "site"); },
                                    [](net::Socket s) { return net::plain_stream(std::move(s), "central"); });
  REQUIRE(ends.server.stream);
  REQUIRE(ends.client.stream);
  ends.server.stream->close();
  const std::vector<uint8_t> block(1 << 16, 7);
  // The first writes may still be taken by the kernel; the peer's reset then makes the next one fail.
  const std::string m = test::error_message<net::NetError>([&] {
    for (int i = 0; i < 200; ++i) {
      ends.client.stream->write_all(block.data(), block.size(), soon());
      std::this_thread::sleep_for(1ms);
    }
  });
  CHECK(test::contains_all(m, {"writing to central failed"}));
}
