// The TCP channel's two ends: the central node's acceptor (handshake, Hello, admission) and admitted links; a
// site's connection with backoff. Each message is one frame; the frame's type is the message's.
#include "dist/tcp_channel.h"
#include <cstdio>
#include <fstream>
#include <iterator>
#include "base/error.h"
#include "dist/contract.h"
#include "dist/net/backoff.h"
#include "dist/net/errors.h"

namespace asyndgan::dist {

namespace {

using std::chrono::milliseconds;

uint32_t type_bit(MessageType t) { return 1u << static_cast<uint8_t>(t); }

FrameHeader header_for(const RunId& run, uint32_t site) {
  FrameHeader h{};
  h.version = kProtocolVersion;
  h.run_id = run;
  h.site = site;
  return h;
}

FrameRules rules_for(const RunId& run, std::optional<uint32_t> site, uint32_t types, uint64_t max_bytes) {
  FrameRules r{};
  r.version = kProtocolVersion;
  r.run_id = run;
  r.site = site;
  r.allowed_types = types;
  r.max_payload_bytes = max_bytes;
  return r;
}

// The largest message a site may send once its Hello is known: its condition upload, or a gradient of the
// run's batch at the largest wire dtype, whichever is larger, plus room for headers and a failure's reason.
uint64_t largest_from_site(const Hello& h, int64_t batch, int64_t crop) {
  const auto n = static_cast<uint64_t>(h.samples), Cc = h.condition_channels.size(), Cm = h.image_channels.size();
  const uint64_t hw = crop > 0 ? static_cast<uint64_t>(crop * crop) : static_cast<uint64_t>(h.height * h.width);
  const uint64_t upload = 8 * n + n * Cc * static_cast<uint64_t>(h.height * h.width);
  const uint64_t gradient = static_cast<uint64_t>(batch) * Cm * hw * 4;
  return std::max(upload, gradient) + (uint64_t{1} << 16);
}

std::vector<uint8_t> frame_payload(const Frame& f) {
  if (f.payload.size() < 2 || f.payload[1] != f.header.type)
    throw FrameError("type", msg("frame: type ", int(f.header.type), " holds a message of another type"));
  return f.payload;
}

}  // namespace

RunId run_id_for(const std::optional<net::TlsFiles>& tls) {
  RunId id{};
  if (!tls) return id;
  std::ifstream in(tls->ca, std::ios::binary);
  if (!in) throw IOError(msg("cannot read the run CA certificate ", tls->ca, ": make it with asyndgan certs"));
  const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::array<uint8_t, 32> md = sha256(pem);
  std::copy(md.begin(), md.begin() + id.size(), id.begin());
  return id;
}

uint32_t site_frame_id(const std::string& site) {
  uint32_t h = 0x811c9dc5u;
  for (unsigned char c : site) h = (h ^ c) * 0x01000193u;
  return h;
}

// ---- central --------------------------------------------------------------------------------------------------

struct TcpCentralChannel::Peer {
  std::string name;
  std::unique_ptr<Link> link;  // set once admitted
  Hello hello;
  std::string lost;            // why the link ended ("" while it lives)
  bool admitted = false;
};

TcpCentralChannel::TcpCentralChannel(TcpCentralOptions options, Admit admit)
    : ByteCentralChannel(options.wire),
      o_(std::move(options)),
      admit_(std::move(admit)),
      run_id_(run_id_for(o_.tls)),
      listener_(net::Listener::bind(net::parse_endpoint(o_.listen))) {
  if (o_.sites.empty()) throw ValueError("central: dist.sites names no site");
  if (o_.min_sites < 0 || o_.min_sites > static_cast<int64_t>(o_.sites.size()))
    throw ValueError(msg("central: dist.min_sites = ", o_.min_sites, " but dist.sites names ", o_.sites.size(), " sites"));
  if (o_.tls) tls_ = std::make_unique<net::TlsServer>(*o_.tls);
  for (const auto& s : o_.sites) {
    peers_.push_back(std::make_unique<Peer>());
    peers_.back()->name = s;
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpCentralChannel::~TcpCentralChannel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& t : handshakes_)
    if (t.joinable()) t.join();
  for (auto& p : peers_)
    if (p->link) p->link->close();
}

uint16_t TcpCentralChannel::port() const { return listener_.port(); }

void TcpCentralChannel::log(const std::string& line) const {
  if (o_.log) o_.log(line);
  else std::fprintf(stderr, "%s\n", line.c_str());
}

void TcpCentralChannel::accept_loop() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    std::optional<net::Socket> s;
    try {
      s = listener_.accept(net::Deadline::after(milliseconds(200)));
    } catch (const net::NetTimeout&) {
      continue;
    } catch (const std::exception& e) {
      log(msg("central: accept failed: ", e.what()));
      continue;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    handshakes_.emplace_back([this, sock = std::move(*s)]() mutable { handshake(std::move(sock)); });
  }
}

void TcpCentralChannel::refuse(net::Stream& stream, const std::string& who, const std::string& why) {
  log(msg("central: refused ", who, ": ", why));
  try {
    const std::vector<uint8_t> bytes = encode(ToSite{Failure{why}}, o_.wire);
    FrameHeader h = header_for(run_id_, 0);
    h.type = static_cast<uint8_t>(MessageType::failure);
    const net::Deadline d = net::Deadline::after(milliseconds(1000));
    write_frame(h, bytes, false, [&](std::span<const uint8_t> c) { stream.write_all(c.data(), c.size(), d); });
  } catch (const std::exception&) {
    // the peer may be gone already; it was refused either way
  }
  stream.close();
}

// A new connection: TLS handshake, then its first frame must be a Hello of a configured site that its
// certificate names, not yet joined, admitted by the run (contract, shapes); then it becomes that site's link.
void TcpCentralChannel::handshake(net::Socket socket) {
  const net::Deadline deadline = net::Deadline::after(std::min(o_.handshake, o_.timeout));
  std::unique_ptr<net::Stream> stream;
  std::string who = "a peer";
  try {
    const std::string addr = socket.peer();
    who = addr;
    stream = tls_ ? tls_->accept(std::move(socket), deadline) : net::plain_stream(std::move(socket), addr);
  } catch (const std::exception& e) {
    log(msg("central: refused ", who, ": ", e.what()));
    return;
  }
  Hello hello;
  try {
    FrameReader reader(rules_for(run_id_, std::nullopt, type_bit(MessageType::hello), kMaxPayloadBeforeHello));
    std::vector<uint8_t> buf(4096);
    std::optional<Frame> f;
    while (!f) {
      const size_t n = stream->read_some(buf.data(), std::min(buf.size(), std::max<size_t>(1, reader.bytes_wanted())), deadline);
      if (n == 0) throw Error("closed the connection before its Hello");
      for (size_t at = 0; at < n && !f;) {
        at += reader.feed(std::span<const uint8_t>(buf.data() + at, n - at));
        f = reader.take();
      }
    }
    hello = std::get<Hello>(decode_to_central(frame_payload(*f), o_.wire));
    if (f->header.site != site_frame_id(hello.site))
      throw FrameError("site", msg("frame: site id ", f->header.site, " is not site '", hello.site, "''s"));
  } catch (const std::exception& e) {
    refuse(*stream, who, e.what());
    return;
  }
  who = msg("site '", hello.site, "' (", stream->peer(), ")");
  std::unique_lock<std::mutex> lock(mutex_);
  auto it = std::find_if(peers_.begin(), peers_.end(), [&](const auto& p) { return p->name == hello.site; });
  std::string why;
  if (tls_ && stream->peer_name() != hello.site)
    why = msg("its certificate names '", stream->peer_name(), "', not the site it claims");
  else if (it == peers_.end())
    why = "it is not one of this run's sites (dist.sites)";
  if (why.empty() && admit_) {  // the contract before the run's state, so a differing site learns what differs
    std::vector<Hello> accepted;
    for (const auto& p : peers_)
      if (p->admitted) accepted.push_back(p->hello);
    why = admit_(hello, accepted);
  }
  if (why.empty() && (*it)->admitted) why = "that site is already connected";
  if (why.empty() && frozen_) why = "the run has started without it";
  if (!why.empty()) {
    lock.unlock();
    refuse(*stream, who, why);
    return;
  }
  Peer& peer = **it;
  const auto index = static_cast<int64_t>(it - peers_.begin());
  peer.hello = hello;
  peer.admitted = true;
  LinkOptions lo;
  lo.rules = rules_for(run_id_, site_frame_id(hello.site),
                       type_bit(MessageType::conditions) | type_bit(MessageType::gradient) | type_bit(MessageType::failure),
                       largest_from_site(hello, o_.batch_per_site, o_.crop));
  lo.outgoing = header_for(run_id_, site_frame_id(hello.site));
  lo.zstd = o_.zstd;
  lo.silence = o_.timeout;
  lo.peer_label = who;
  inbox_.emplace_back(index, encode(ToCentral{hello}, o_.wire));
  peer.link = std::make_unique<Link>(
      std::move(stream), lo,
      [this, index](Frame f) {
        std::vector<uint8_t> bytes = frame_payload(f);
        std::lock_guard<std::mutex> l(mutex_);
        inbox_.emplace_back(index, std::move(bytes));
        changed_.notify_all();
      },
      [this, index, who](const std::string& why) {
        log(msg("central: ", who, ": ", why, "; connection closed"));
        std::lock_guard<std::mutex> l(mutex_);
        peers_[static_cast<size_t>(index)]->lost = why;
        changed_.notify_all();
      });
  log(msg("central: ", who, " joined"));
  changed_.notify_all();
}

std::vector<std::string> TcpCentralChannel::wait_for_sites() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto all = static_cast<int64_t>(peers_.size());
  const int64_t enough = o_.min_sites > 0 ? o_.min_sites : all;
  auto joined = [&] {
    int64_t n = 0;
    for (const auto& p : peers_) n += p->admitted ? 1 : 0;
    return n;
  };
  for (;;) {
    const int64_t n = joined();
    if (n == all) break;
    if (n >= enough) {
      // Enough sites: start once no other has joined for a timeout.
      if (!changed_.wait_for(lock, o_.timeout, [&] { return joined() > n; })) break;
      continue;
    }
    changed_.wait(lock, [&] { return joined() > n; });
  }
  frozen_ = true;
  std::vector<std::string> names;
  for (size_t i = 0; i < peers_.size(); ++i)
    if (peers_[i]->admitted) {
      order_.push_back(static_cast<int64_t>(i));
      names.push_back(peers_[i]->name);
    }
  return names;
}

std::vector<Hello> TcpCentralChannel::hellos() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Hello> out;
  for (int64_t c : order_) out.push_back(peers_[static_cast<size_t>(c)]->hello);
  return out;
}

int64_t TcpCentralChannel::num_sites() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(order_.size());
}

int64_t TcpCentralChannel::configured(int64_t site) const {
  if (site < 0 || site >= static_cast<int64_t>(order_.size()))
    throw ValueError(msg("tcp channel: site ", site, " outside the run's ", order_.size(), " sites (wait_for_sites first)"));
  return order_[static_cast<size_t>(site)];
}

void TcpCentralChannel::close(int64_t site) {
  Link* link;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Peer& p = *peers_[static_cast<size_t>(configured(site))];
    if (p.lost.empty()) p.lost = "closed by the central node";
    link = p.link.get();
  }
  if (link) link->close();
}

void TcpCentralChannel::send_bytes(int64_t site, std::vector<uint8_t> bytes) {
  Link* link;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Peer& p = *peers_[static_cast<size_t>(configured(site))];
    if (!p.lost.empty()) throw Error(msg("central: site '", p.name, "' is gone: ", p.lost));
    link = p.link.get();
  }
  const auto type = static_cast<uint8_t>(peek_type(bytes));
  const int64_t step = peek_step(bytes);
  link->send(type, step, std::move(bytes));
}

std::vector<uint8_t> TcpCentralChannel::receive_bytes(int64_t site, Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  const int64_t want = configured(site);
  Peer& p = *peers_[static_cast<size_t>(want)];
  auto it = inbox_.end();
  auto ready = [&] {
    it = std::find_if(inbox_.begin(), inbox_.end(), [&](const auto& m) { return m.first == want; });
    return it != inbox_.end() || !p.lost.empty();
  };
  if (!changed_.wait_for(lock, timeout, ready))
    throw Error(msg("central: no message from site '", p.name, "' in ", timeout.count() / 1000.0, " s (dist.timeout_s)"));
  if (it == inbox_.end()) throw Error(msg("central: site '", p.name, "' is gone: ", p.lost));
  std::vector<uint8_t> b = std::move(it->second);
  inbox_.erase(it);
  return b;
}

std::pair<int64_t, std::vector<uint8_t>> TcpCentralChannel::receive_any_bytes(Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  int64_t from = -1;
  std::string gone;
  auto ready = [&] {
    for (size_t j = 0; j < order_.size(); ++j) {
      const int64_t c = order_[j];
      if (std::any_of(inbox_.begin(), inbox_.end(), [&](const auto& m) { return m.first == c; })) {
        from = static_cast<int64_t>(j);
        return true;
      }
    }
    for (int64_t c : order_)
      if (!peers_[static_cast<size_t>(c)]->lost.empty()) {
        gone = msg("site '", peers_[static_cast<size_t>(c)]->name, "' is gone: ", peers_[static_cast<size_t>(c)]->lost);
        return true;
      }
    return false;
  };
  if (!changed_.wait_for(lock, timeout, ready))
    throw Error(msg("central: no message from any site in ", timeout.count() / 1000.0, " s (dist.timeout_s)"));
  if (from < 0) throw Error("central: " + gone);
  const int64_t c = order_[static_cast<size_t>(from)];
  auto it = std::find_if(inbox_.begin(), inbox_.end(), [&](const auto& m) { return m.first == c; });
  std::vector<uint8_t> b = std::move(it->second);
  inbox_.erase(it);
  return {from, std::move(b)};
}

// ---- site -----------------------------------------------------------------------------------------------------

TcpSiteChannel::TcpSiteChannel(TcpSiteOptions options) : ByteSiteChannel(options.wire), o_(std::move(options)) {
  const RunId run = run_id_for(o_.tls);
  const net::Endpoint central = net::parse_endpoint(o_.central);
  std::unique_ptr<net::TlsClient> tls;
  if (o_.tls) tls = std::make_unique<net::TlsClient>(*o_.tls, "central");
  net::BackoffOptions bo;
  bo.initial = milliseconds(250);
  bo.max = milliseconds(8000);
  bo.budget = o_.reconnect;
  net::Backoff backoff(bo);
  std::unique_ptr<net::Stream> stream;
  for (;;) {
    try {
      const net::Deadline d = net::Deadline::after(std::min(o_.timeout, milliseconds(10000)));
      net::Socket s = net::connect_tcp(central, d);
      stream = tls ? tls->connect(std::move(s), central.host, d) : net::plain_stream(std::move(s), o_.central);
      break;
    } catch (const net::TlsError&) {
      throw;  // a certificate problem does not go away by retrying
    } catch (const net::NetError& e) {
      const std::optional<milliseconds> wait = backoff.next();
      if (!wait) throw net::NetError(msg("site '", o_.site, "': cannot reach the central node at ", o_.central, " within ",
                                         o_.reconnect.count() / 1000.0, " s (dist.reconnect_s): ", e.what()));
      if (o_.log) o_.log(msg("site '", o_.site, "': ", e.what(), "; retrying in ", wait->count(), " ms"));
      std::this_thread::sleep_for(*wait);
    }
  }
  LinkOptions lo;
  const uint32_t id = site_frame_id(o_.site);
  lo.rules = rules_for(run, id,
                       type_bit(MessageType::request) | type_bit(MessageType::control) | type_bit(MessageType::failure),
                       std::max(o_.max_message_bytes, kMaxPayloadBeforeHello));
  lo.outgoing = header_for(run, id);
  lo.zstd = o_.zstd;
  lo.silence = o_.timeout;
  lo.peer_label = msg("the central node (", stream->peer(), ")");
  link_ = std::make_unique<Link>(
      std::move(stream), lo,
      [this](Frame f) {
        std::vector<uint8_t> bytes = frame_payload(f);
        std::lock_guard<std::mutex> l(mutex_);
        inbox_.push_back(std::move(bytes));
        changed_.notify_all();
      },
      [this](const std::string& why) {
        std::lock_guard<std::mutex> l(mutex_);
        lost_ = why;
        changed_.notify_all();
      });
}

TcpSiteChannel::~TcpSiteChannel() { close(); }

void TcpSiteChannel::close() {
  if (link_) link_->close();
}

void TcpSiteChannel::send_bytes(std::vector<uint8_t> bytes) {
  const auto type = static_cast<uint8_t>(peek_type(bytes));
  const int64_t step = peek_step(bytes);
  link_->send(type, step, std::move(bytes));
}

std::vector<uint8_t> TcpSiteChannel::receive_bytes(Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_for(lock, timeout, [&] { return !inbox_.empty() || !lost_.empty(); }))
    throw Error(msg("site '", o_.site, "': no message from the central node in ", timeout.count() / 1000.0, " s (dist.timeout_s)"));
  if (inbox_.empty()) throw Error(msg("site '", o_.site, "': the connection to the central node ended: ", lost_));
  std::vector<uint8_t> b = std::move(inbox_.front());
  inbox_.pop_front();
  return b;
}

}  // namespace asyndgan::dist
