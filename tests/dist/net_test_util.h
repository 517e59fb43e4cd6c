// Loopback helpers for the network tests: a run's certificates in a scratch directory, a listener on 127.0.0.1
// with a free port, and both ends of a connection, one on a std::thread, every wait under a short Deadline.
#pragma once
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>
#include "dist/net/certs.h"
#include "dist/net/errors.h"
#include "dist/net/tcp.h"
#include "dist/net/tls.h"
#include "tests/engine/file_test_util.h"

namespace asyndgan::test {

inline net::Deadline soon(int ms = 5000) { return net::Deadline::after(std::chrono::milliseconds(ms)); }

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One `asyndgan certs` run (the CA, central, SiteA, SiteB) in its own scratch directory.
struct RunCerts {
  ScratchDir dir;
  std::string path;
  explicit RunCerts(const std::string& name, const std::vector<std::string>& sites = {"SiteA", "SiteB"})
      : dir(name), path(dir.file("certs")) {
    net::make_run_certs(path, sites, 30, false);
  }
  std::string file(const std::string& f) const { return path + "/" + f; }
  net::TlsFiles files(const std::string& node) const {
    return {file("ca.pem"), file(node + ".pem"), file(node + ".key")};
  }
};

struct Loopback {
  net::Listener listener = net::Listener::bind({"127.0.0.1", 0});
  net::Endpoint endpoint() const { return {"127.0.0.1", listener.port()}; }
  net::Socket accept(int ms = 5000) { return listener.accept(soon(ms)); }
  net::Socket connect(int ms = 5000) const { return net::connect_tcp(endpoint(), soon(ms)); }
};

// How one side of a connection attempt ended: a stream, or the kind and text of the error.
struct Attempt {
  std::unique_ptr<net::Stream> stream;
  std::string kind;  // "" (a stream), "tls", "timeout" or "net"
  std::string error;
};

template <class F>
Attempt attempt(F&& f) {
  try {
    return {f(), "", ""};
  } catch (const net::TlsError& e) {
    return {nullptr, "tls", e.what()};
  } catch (const net::NetTimeout& e) {
    return {nullptr, "timeout", e.what()};
  } catch (const net::NetError& e) {
    return {nullptr, "net", e.what()};
  }
}

struct Ends {
  Attempt server, client;
};

// The server's accept + handshake on a thread, the client's connect + handshake here.
template <class ServerSide, class ClientSide>
Ends both_ends(ServerSide server_side, ClientSide client_side) {
  Loopback lo;
  auto server = std::async(std::launch::async, [&] { return attempt([&] { return server_side(lo.accept()); }); });
  Attempt client = attempt([&] { return client_side(lo.connect()); });
  return {server.get(), std::move(client)};
}

// A TLS handshake between the two, each under a deadline of `ms`.
inline Ends tls_ends(const net::TlsServer& server, const net::TlsClient& client, int ms = 5000) {
  return both_ends([&](net::Socket s) { return server.accept(std::move(s), soon(ms)); },
                   [&](net::Socket s) { return client.connect(std::move(s), "127.0.0.1", soon(ms)); });
}

inline std::string read_text(net::Stream& s, size_t n, int ms = 5000) {
  std::string out(n, '\0');
  net::read_exact(s, reinterpret_cast<uint8_t*>(out.data()), n, soon(ms));
  return out;
}
inline void write_text(net::Stream& s, const std::string& text, int ms = 5000) {
  s.write_all(reinterpret_cast<const uint8_t*>(text.data()), text.size(), soon(ms));
}

}  // namespace asyndgan::test
