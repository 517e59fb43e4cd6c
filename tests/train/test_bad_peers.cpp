// Hostile and broken peers against a central process while two good sites train: each is refused with one log
// line naming what was wrong, its connection is closed, and the run finishes as if it had never come.
#include <doctest/doctest.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include "dist/contract.h"
#include "dist/frame.h"
#include "dist/messages.h"
#include "dist/net/errors.h"
#include "dist/net/tls.h"
#include "dist/tcp_channel.h"
#include "engine/file_test_util.h"
#include "train/processes.h"

using namespace asyndgan;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

struct BadPeer {
  std::string name;      // for failure messages
  std::string expected;  // what the central node's log line must say
  std::function<void(uint16_t port)> act;
};

net::Socket dial(uint16_t port) { return net::connect_tcp({"127.0.0.1", port}, net::Deadline::after(seconds(5))); }

std::unique_ptr<net::Stream> tls_dial(uint16_t port, const net::TlsFiles& files) {
  return net::TlsClient(files, "central").connect(dial(port), "127.0.0.1", net::Deadline::after(seconds(5)));
}

// Reads until the central node closes the connection (or 10 s pass): every bad peer must be cut off.
bool closed_by_peer(net::Stream& s) {
  uint8_t buf[4096];
  const auto end = std::chrono::steady_clock::now() + seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    try {
      if (s.read_some(buf, sizeof buf, net::Deadline::after(milliseconds(200))) == 0) return true;
    } catch (const net::NetTimeout&) {
    } catch (const net::NetError&) {
      return true;
    }
  }
  return false;
}

dist::Hello hello(const std::string& site) {
  dist::Hello h;
  h.site = site;
  h.contract = {{"loss.gan", "lsgan"}};
  h.contract_hash = dist::contract_hash(h.contract);
  h.samples = 4;
  h.height = h.width = 32;
  h.condition_channels = {"label"};
  h.image_channels = {"t1"};
  h.has_modality = {1};
  return h;
}

std::vector<uint8_t> hello_frame(const std::string& site, const dist::RunId& run, uint8_t version = dist::kProtocolVersion) {
  dist::FrameHeader h{};
  h.version = version;
  h.type = static_cast<uint8_t>(dist::MessageType::hello);
  h.run_id = run;
  h.site = dist::site_frame_id(site);
  return dist::encode_frame(h, dist::encode(dist::ToCentral{hello(site)}));
}

}  // namespace

TEST_CASE("bad peers: each is refused with one log line and closed while two good sites train to the end") {
  test::ScratchDir dir("bad_peers");
  const std::string log = dir.file("log.txt");
  REQUIRE(test::run_cli("phantom --out " + dir.file("phantom") + " --sites 2 --subjects-per-site 2 --size 40,40,16", log).code == 0);
  REQUIRE(test::run_cli("prepare --brats " + dir.file("phantom") + " --out " + dir.file("prepared") +
                            " --size 32,32 --split 1,0,0 --min-tumor 5", log).code == 0);
  REQUIRE(test::run_cli("certs --out " + dir.file("certs") + " --sites SiteA,SiteB,SiteC", log).code == 0);
  REQUIRE(test::run_cli("certs --out " + dir.file("other") + " --sites SiteA", log).code == 0);  // another run's CA
  const std::string config = dir.file("run.toml");
  std::ofstream(config) << "[data]\nshards = \"" << dir.file("prepared") << "\"\n"
                        << "[model]\nngf = 8\nndf = 8\nnorm = \"instance\"\n[schedule]\nconstant = 100\n"
                        << "[dist]\nlisten = \"127.0.0.1:0\"\nsites = [\"SiteA\", \"SiteB\", \"SiteC\"]\nmin_sites = 2\n"
                        << "timeout_s = 3\ncerts = \"" << dir.file("certs") << "\"\n"
                        << "[output]\nsample_every = 0\ncheckpoint_every = 0\nlog_every = 100\n";
  test::Process central("train --config " + config + " --role central --set output.dir=" + dir.file("central"), dir.file("central.log"));
  const std::string port_text = central.await("listening on port ([0-9]+)", seconds(30));
  REQUIRE_MESSAGE(!port_text.empty(), central.output());
  const auto port = static_cast<uint16_t>(std::stoi(port_text));
  std::vector<std::unique_ptr<test::Process>> good;
  for (const char* s : {"SiteA", "SiteB"})
    good.push_back(std::make_unique<test::Process>("train --config " + config + " --role site --site " + s +
                                                       " --set dist.central=127.0.0.1:" + port_text + " --set output.dir=" +
                                                       dir.file(s),
                                                   dir.file(std::string(s) + ".log")));

  const std::string certs = dir.file("certs"), other = dir.file("other");
  const net::TlsFiles siteB{certs + "/ca.pem", certs + "/SiteB.pem", certs + "/SiteB.key"};
  const net::TlsFiles siteC{certs + "/ca.pem", certs + "/SiteC.pem", certs + "/SiteC.key"};
  // Trusts both CAs (so it gets through its own start-up check and reaches the central node) with a foreign cert.
  std::ofstream(other + "/both_cas.pem") << test::read_text_file(certs + "/ca.pem") << test::read_text_file(other + "/ca.pem");
  const net::TlsFiles foreign{other + "/both_cas.pem", other + "/SiteA.pem", other + "/SiteA.key"};
  const dist::RunId run = dist::run_id_for(siteB);
  auto send_and_expect_close = [](net::Stream& s, const std::vector<uint8_t>& bytes) {
    s.write_all(bytes.data(), bytes.size(), net::Deadline::after(seconds(5)));
    CHECK(closed_by_peer(s));
  };
  std::vector<BadPeer> peers = {
      {"certificate of another CA", "not signed by this run's CA",
       [&](uint16_t p) {
         auto s = tls_dial(p, foreign);  // TLS 1.3 lets the client finish first; the refusal comes on its first read
         CHECK(closed_by_peer(*s));
       }},
      {"valid certificate claiming another site", "its certificate names 'SiteB'",
       [&](uint16_t p) { auto s = tls_dial(p, siteB); send_and_expect_close(*s, hello_frame("SiteA", run)); }},
      {"plaintext client", "not speaking TLS",
       [&](uint16_t p) {
         auto s = net::plain_stream(dial(p), "central");
         send_and_expect_close(*s, hello_frame("SiteC", run));
       }},
      {"wrong protocol version", "protocol version 9",
       [&](uint16_t p) { auto s = tls_dial(p, siteC); send_and_expect_close(*s, hello_frame("SiteC", run, 9)); }},
      {"wrong run id", "wrong run id",
       [&](uint16_t p) {
         dist::RunId wrong = run;
         wrong[0] ^= 0xff;
         auto s = tls_dial(p, siteC);
         send_and_expect_close(*s, hello_frame("SiteC", wrong));
       }},
      {"differing run contract", "another run contract",
       [&](uint16_t p) { auto s = tls_dial(p, siteC); send_and_expect_close(*s, hello_frame("SiteC", run)); }},
      {"truncated frame", "closed the connection before its Hello",
       [&](uint16_t p) {
         auto s = tls_dial(p, siteC);
         const auto f = hello_frame("SiteC", run);
         s->write_all(f.data(), f.size() / 2, net::Deadline::after(seconds(5)));
         s->close();
       }},
      {"length field of 2^40", "exceeds this run's largest message",
       [&](uint16_t p) {
         auto f = hello_frame("SiteC", run);
         const uint64_t huge = uint64_t{1} << 40;
         std::memcpy(f.data() + 36, &huge, 8);
         auto s = tls_dial(p, siteC);
         send_and_expect_close(*s, std::vector<uint8_t>(f.begin(), f.begin() + dist::kFrameHeaderBytes));
       }},
      {"bad CRC", "bad CRC32C",
       [&](uint16_t p) {
         auto f = hello_frame("SiteC", run);
         f.back() ^= 0x5a;
         auto s = tls_dial(p, siteC);
         send_and_expect_close(*s, f);
       }},
      {"random bytes", "wrong magic",
       [&](uint16_t p) {
         std::mt19937 rng(7);
         std::vector<uint8_t> junk(4096);
         for (auto& b : junk) b = static_cast<uint8_t>(rng());
         auto s = tls_dial(p, siteC);
         send_and_expect_close(*s, junk);
       }},
      {"a peer that connects and sends nothing", "timed out in the TLS handshake",
       [&](uint16_t p) {
         net::Socket s = dial(p);
         auto plain = net::plain_stream(std::move(s), "central");
         CHECK(closed_by_peer(*plain));
       }},
  };
  std::vector<std::thread> threads;
  for (auto& peer : peers)
    threads.emplace_back([&peer, port] {
      try {
        peer.act(port);
      } catch (const std::exception& e) {
        MESSAGE(peer.name, ": ", e.what());  // a refusal the client saw first is fine; the central's log decides
      }
    });
  for (auto& t : threads) t.join();

  CHECK_MESSAGE(central.wait(seconds(120)) == 0, central.output());
  for (auto& g : good) CHECK_MESSAGE(g->wait(seconds(30)) == 0, g->output());
  const std::string out = central.output();
  CHECK_MESSAGE(out.find("done after 100 of 100 iterations") != std::string::npos, out);
  size_t refused = 0;
  for (size_t at = out.find("central: refused"); at != std::string::npos; at = out.find("central: refused", at + 1)) ++refused;
  CHECK_MESSAGE(refused == peers.size(), out);
  for (const auto& peer : peers) CHECK_MESSAGE(out.find(peer.expected) != std::string::npos, peer.name << " not in:\n" << out);
}
