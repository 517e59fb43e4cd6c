// The TCP channel: the central node listens, each site opens the one connection (a hospital opens no inbound
// port), mutual TLS 1.3 unless --insecure, frames (dist/frame.h) over each connection driven by a Link's I/O
// thread. A peer that fails its handshake, claims a site its certificate does not name, sends a bad frame or a
// refused Hello is logged in one line and closed; every other site goes on. A site of the run whose link ended
// may connect again (same certificate, same contract): it rejoins under its old index.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include "dist/channel.h"
#include "dist/frame.h"
#include "dist/link.h"
#include "dist/net/tcp.h"
#include "dist/net/tls.h"

namespace asyndgan::dist {

using Log = std::function<void(const std::string& line)>;

// The run id of a deployment: the first 16 bytes of SHA-256 over the run CA's certificate file, which every
// role holds (asyndgan certs writes one CA per run); an insecure run's id is all zeros.
RunId run_id_for(const std::optional<net::TlsFiles>& tls);
// A site's id in frame headers: FNV-1a of its name, which both ends know before any frame.
uint32_t site_frame_id(const std::string& site);
// Before Hello has been read, nothing longer than this is accepted.
inline constexpr uint64_t kMaxPayloadBeforeHello = uint64_t{1} << 20;

struct TcpCentralOptions {
  std::string listen = "0.0.0.0:0";          // dist.listen; port 0 picks one (port() tells)
  std::optional<net::TlsFiles> tls;          // nullopt: plaintext (--insecure)
  std::vector<std::string> sites;            // dist.sites: the run's sites, in run order
  int64_t min_sites = 0;                     // dist.min_sites; 0: all
  std::chrono::milliseconds timeout{60000};  // dist.timeout_s: silence before a peer is dropped
  std::chrono::milliseconds handshake{10000};  // TLS handshake and Hello of a new connection
  WireDtype wire = WireDtype::f32;
  bool zstd = false;                         // dist.compress = "zstd"
  int64_t batch_per_site = 1, crop = 0;      // bound the largest gradient a site may send
  Log log;                                   // one line per event worth a line (stderr when empty)
};

// Why a Hello cannot join (""): Central::refusal, given the Hellos accepted so far.
using Admit = std::function<std::string(const Hello& hello, const std::vector<Hello>& accepted)>;

class TcpCentralChannel : public ByteCentralChannel {
 public:
  TcpCentralChannel(TcpCentralOptions options, Admit admit);  // binds and starts accepting
  ~TcpCentralChannel() override;
  uint16_t port() const;

  // Blocks until every configured site has joined, or min_sites have and no other joined for `timeout`; the
  // joined sites then form the run, in configured order (site j of num_sites()), and later connections are
  // refused but for a site of the run whose link has ended (it rejoins). Returns their names.
  std::vector<std::string> wait_for_sites();
  std::vector<Hello> hellos() const;  // of the run's sites, in run order (after wait_for_sites)
  int64_t num_sites() const override;
  void close(int64_t site) override;
  std::vector<int64_t> rejoined(Timeout wait) override;

 protected:
  void send_bytes(int64_t site, std::vector<uint8_t> bytes) override;
  std::vector<uint8_t> receive_bytes(int64_t site, Timeout timeout) override;
  std::pair<int64_t, std::vector<uint8_t>> receive_any_bytes(Timeout timeout) override;

 private:
  struct Peer;
  void accept_loop();
  void handshake(net::Socket socket);
  void refuse(net::Stream& stream, const std::string& who, const std::string& why);
  void log(const std::string& line) const;
  int64_t configured(int64_t site) const;  // channel index -> configured index
  int64_t channel_index(int64_t configured) const;  // -1 when that site is not in the run
  void mark_lost(Peer& peer, const std::string& why);      // its link ended (mutex_ held)
  [[noreturn]] void throw_lost(int64_t site, Peer& peer);  // reports the peer's loss to the role, as LinkLost

  TcpCentralOptions o_;
  Admit admit_;
  RunId run_id_;
  net::Listener listener_;
  std::unique_ptr<net::TlsServer> tls_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Peer>> peers_;  // per configured site
  std::vector<int64_t> order_;                // channel index -> configured index, fixed by wait_for_sites
  bool frozen_ = false, stopping_ = false;
  std::deque<std::pair<int64_t, std::vector<uint8_t>>> inbox_;  // (configured index, message)
  std::thread acceptor_;
  struct Handshake {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Handshake> handshakes_;  // finished ones are joined at the next connection, so none pile up
};

struct TcpSiteOptions {
  std::string central;                       // dist.central: host:port
  std::optional<net::TlsFiles> tls;          // nullopt: plaintext (--insecure)
  std::string site;                          // this site's name (its certificate's)
  std::chrono::milliseconds timeout{60000};  // dist.timeout_s
  std::chrono::milliseconds reconnect{60000};  // dist.reconnect_s: how long to keep trying to connect
  WireDtype wire = WireDtype::f32;
  bool zstd = false;
  uint64_t max_message_bytes = kMaxPayloadBeforeHello;  // the largest Request the central node may send
  Log log;
};

// Sends and receives throw LinkLost once the connection has ended; reconnect() then opens a new one.
class TcpSiteChannel : public ByteSiteChannel {
 public:
  explicit TcpSiteChannel(TcpSiteOptions options);  // connects, retrying with exponential backoff
  ~TcpSiteChannel() override;
  void close() override;
  // Drops the ended connection and whatever it left unread, then connects again as the constructor does
  // (NetError after dist.reconnect_s). The site then says Hello again (Site::connect).
  void reconnect();

 protected:
  void send_bytes(std::vector<uint8_t> bytes) override;
  std::vector<uint8_t> receive_bytes(Timeout timeout) override;

 private:
  void connect();
  TcpSiteOptions o_;
  RunId run_;
  std::unique_ptr<net::TlsClient> tls_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<uint8_t>> inbox_;
  std::string lost_;
  uint64_t generation_ = 0;  // of the current connection: a late callback of an ended one is ignored
  std::unique_ptr<Link> link_;
};

}  // namespace asyndgan::dist
