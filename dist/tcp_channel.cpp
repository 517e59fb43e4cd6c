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
  std::string lost;            // why the current link ended ("" while it lives)
  bool admitted = false;
  // Once the run has started, what the role knows: `taken` while it counts the site in; a loss it has not been
  // told of yet (`loss_pending`) is reported before anything else of that site, once, as LinkLost; a new link
  // after a loss (`rejoined`) is handed over by rejoined() only after that, and until then its messages wait.
  bool taken = false;
  bool loss_pending = false;
  bool rejoined = false;
  std::string loss;            // why, for the report
  uint64_t generation = 0;     // of the current link: callbacks of an ended one are ignored
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
  for (auto& h : handshakes_)
    if (h.thread.joinable()) h.thread.join();
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
    std::erase_if(handshakes_, [](Handshake& h) {
      if (!*h.done) return false;
      h.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    handshakes_.push_back({std::thread([this, done, sock = std::move(*s)]() mutable {
                             handshake(std::move(sock));
                             *done = true;
                           }),
                           done});
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
  // A site of the run comes back under its old index; the central node checks that it holds what it held before
  // (Central::rejoin). Its certificate proves it is that site, so a link that still looks alive is a stale one
  // (the site saw the connection fail first) and is replaced.
  const bool rejoin = why.empty() && frozen_ && (*it)->admitted &&
                      channel_index(static_cast<int64_t>(it - peers_.begin())) >= 0;
  if (why.empty() && admit_) {  // the contract before the run's state, so a differing site learns what differs
    std::vector<Hello> accepted;
    for (const auto& p : peers_)
      if (p->admitted && p != *it) accepted.push_back(p->hello);
    why = admit_(hello, accepted);
  }
  if (why.empty() && (*it)->admitted && !rejoin) why = "that site is already connected";
  if (why.empty() && frozen_ && !rejoin) why = "the run has started without it";
  if (!why.empty()) {
    lock.unlock();
    refuse(*stream, who, why);
    return;
  }
  Peer& peer = **it;
  const auto index = static_cast<int64_t>(it - peers_.begin());
  std::unique_ptr<Link> ended = std::move(peer.link);  // destroyed below, outside the lock its callbacks take
  if (rejoin && peer.lost.empty()) mark_lost(peer, "replaced by a new connection from the site");
  peer.hello = hello;
  peer.admitted = true;
  peer.lost.clear();
  peer.rejoined = rejoin;
  const uint64_t generation = ++peer.generation;
  // What the ended link left unread belongs to the old connection's exchange.
  std::erase_if(inbox_, [&](const auto& m) { return m.first == index; });
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
      [this, index, generation](Frame f) {
        std::vector<uint8_t> bytes = frame_payload(f);
        std::lock_guard<std::mutex> l(mutex_);
        if (peers_[static_cast<size_t>(index)]->generation != generation) return;
        inbox_.emplace_back(index, std::move(bytes));
        changed_.notify_all();
      },
      [this, index, who, generation](const std::string& why) {
        log(msg("central: ", who, ": ", why, "; connection closed"));
        std::lock_guard<std::mutex> l(mutex_);
        Peer& p = *peers_[static_cast<size_t>(index)];
        if (p.generation != generation) return;
        mark_lost(p, why);
        changed_.notify_all();
      });
  log(msg("central: ", who, rejoin ? " rejoined" : " joined"));
  changed_.notify_all();
  lock.unlock();
  ended.reset();
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
      peers_[i]->taken = true;
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

int64_t TcpCentralChannel::channel_index(int64_t c) const {
  auto it = std::find(order_.begin(), order_.end(), c);
  return it == order_.end() ? -1 : static_cast<int64_t>(it - order_.begin());
}

void TcpCentralChannel::mark_lost(Peer& p, const std::string& why) {
  p.lost = why;
  if (!p.taken || p.loss_pending) return;
  p.loss_pending = true;
  p.loss = why;
}

void TcpCentralChannel::throw_lost(int64_t site, Peer& p) {
  const std::string why = p.loss_pending ? p.loss : p.lost;
  p.loss_pending = false;
  p.taken = false;
  throw LinkLost(site, msg("central: site '", p.name, "' is gone: ", why));
}

std::vector<int64_t> TcpCentralChannel::rejoined(Timeout wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto ready = [&](const Peer& p) { return p.rejoined && !p.taken && !p.loss_pending; };
  changed_.wait_for(lock, wait, [&] {
    return std::any_of(order_.begin(), order_.end(), [&](int64_t c) { return ready(*peers_[static_cast<size_t>(c)]); });
  });
  std::vector<int64_t> out;
  for (size_t j = 0; j < order_.size(); ++j) {
    Peer& p = *peers_[static_cast<size_t>(order_[j])];
    if (!ready(p)) continue;
    p.rejoined = false;
    p.taken = true;
    out.push_back(static_cast<int64_t>(j));
  }
  return out;
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
    p.taken = p.loss_pending = p.rejoined = false;
    link = p.link.get();
  }
  if (link) link->close();
}

void TcpCentralChannel::send_bytes(int64_t site, std::vector<uint8_t> bytes) {
  Link* link;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Peer& p = *peers_[static_cast<size_t>(configured(site))];
    if (p.loss_pending || !p.lost.empty()) throw_lost(site, p);
    link = p.link.get();
  }
  const auto type = static_cast<uint8_t>(peek_type(bytes));
  const int64_t step = peek_step(bytes);
  try {
    link->send(type, step, std::move(bytes));
  } catch (const Error& e) {  // the link ended between the check above and the send
    std::lock_guard<std::mutex> lock(mutex_);
    Peer& p = *peers_[static_cast<size_t>(configured(site))];
    if (p.lost.empty()) mark_lost(p, e.what());
    throw_lost(site, p);
  }
}

std::vector<uint8_t> TcpCentralChannel::receive_bytes(int64_t site, Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  const int64_t want = configured(site);
  Peer& p = *peers_[static_cast<size_t>(want)];
  auto it = inbox_.end();
  auto ready = [&] {
    it = std::find_if(inbox_.begin(), inbox_.end(), [&](const auto& m) { return m.first == want; });
    return (p.loss_pending && p.rejoined) || it != inbox_.end() || !p.lost.empty();
  };
  if (!changed_.wait_for(lock, timeout, ready))
    throw Error(msg("central: no message from site '", p.name, "' in ", timeout.count() / 1000.0, " s (dist.timeout_s)"));
  if ((p.loss_pending && p.rejoined) || it == inbox_.end()) throw_lost(site, p);
  std::vector<uint8_t> b = std::move(it->second);
  inbox_.erase(it);
  return b;
}

std::pair<int64_t, std::vector<uint8_t>> TcpCentralChannel::receive_any_bytes(Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  int64_t from = -1, gone = -1;
  // A loss the role has not been told of comes before the new link's messages, but after what the ended link
  // delivered before it ended; sites the role does not count in are passed over.
  auto peer = [&](size_t j) -> const Peer& { return *peers_[static_cast<size_t>(order_[j])]; };
  auto ready = [&] {
    for (size_t j = 0; j < order_.size(); ++j)
      if (peer(j).taken && peer(j).loss_pending && peer(j).rejoined) {
        gone = static_cast<int64_t>(j);
        return true;
      }
    for (size_t j = 0; j < order_.size(); ++j) {
      const int64_t c = order_[j];
      if (peer(j).taken && std::any_of(inbox_.begin(), inbox_.end(), [&](const auto& m) { return m.first == c; })) {
        from = static_cast<int64_t>(j);
        return true;
      }
    }
    for (size_t j = 0; j < order_.size(); ++j)
      if (peer(j).taken && (peer(j).loss_pending || !peer(j).lost.empty())) {
        gone = static_cast<int64_t>(j);
        return true;
      }
    return false;
  };
  if (!changed_.wait_for(lock, timeout, ready))
    throw Error(msg("central: no message from any site in ", timeout.count() / 1000.0, " s (dist.timeout_s)"));
  if (from < 0) throw_lost(gone, *peers_[static_cast<size_t>(order_[static_cast<size_t>(gone)])]);
  const int64_t c = order_[static_cast<size_t>(from)];
  auto it = std::find_if(inbox_.begin(), inbox_.end(), [&](const auto& m) { return m.first == c; });
  std::vector<uint8_t> b = std::move(it->second);
  inbox_.erase(it);
  return {from, std::move(b)};
}

// ---- site -----------------------------------------------------------------------------------------------------

TcpSiteChannel::TcpSiteChannel(TcpSiteOptions options)
    : ByteSiteChannel(options.wire), o_(std::move(options)), run_(run_id_for(o_.tls)) {
  if (o_.tls) tls_ = std::make_unique<net::TlsClient>(*o_.tls, "central");
  connect();
}

void TcpSiteChannel::connect() {
  const net::Endpoint central = net::parse_endpoint(o_.central);
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
      stream = tls_ ? tls_->connect(std::move(s), central.host, d) : net::plain_stream(std::move(s), o_.central);
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
  lo.rules = rules_for(run_, id,
                       type_bit(MessageType::request) | type_bit(MessageType::control) | type_bit(MessageType::failure),
                       std::max(o_.max_message_bytes, kMaxPayloadBeforeHello));
  lo.outgoing = header_for(run_, id);
  lo.zstd = o_.zstd;
  lo.silence = o_.timeout;
  lo.peer_label = msg("the central node (", stream->peer(), ")");
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t generation = ++generation_;
  inbox_.clear();
  lost_.clear();
  link_ = std::make_unique<Link>(
      std::move(stream), lo,
      [this, generation](Frame f) {
        std::vector<uint8_t> bytes = frame_payload(f);
        std::lock_guard<std::mutex> l(mutex_);
        if (generation != generation_) return;
        inbox_.push_back(std::move(bytes));
        changed_.notify_all();
      },
      [this, generation](const std::string& why) {
        std::lock_guard<std::mutex> l(mutex_);
        if (generation != generation_) return;
        lost_ = why;
        changed_.notify_all();
      });
}

TcpSiteChannel::~TcpSiteChannel() { close(); }

void TcpSiteChannel::close() {
  if (link_) link_->close();
}

void TcpSiteChannel::reconnect() {
  std::unique_ptr<Link> ended;
  {
    std::lock_guard<std::mutex> l(mutex_);
    ended = std::move(link_);
    ++generation_;  // the ended link's late callbacks change nothing now
    if (lost_.empty()) lost_ = "reconnecting";
  }
  ended.reset();  // outside the lock: its I/O thread may be waiting for it
  connect();
}

void TcpSiteChannel::send_bytes(std::vector<uint8_t> bytes) {
  const auto type = static_cast<uint8_t>(peek_type(bytes));
  const int64_t step = peek_step(bytes);
  Link* link;
  {
    std::lock_guard<std::mutex> l(mutex_);
    if (!lost_.empty() || !link_)
      throw LinkLost(-1, msg("site '", o_.site, "': the connection to the central node ended: ", lost_));
    link = link_.get();
  }
  try {
    link->send(type, step, std::move(bytes));
  } catch (const Error& e) {
    throw LinkLost(-1, msg("site '", o_.site, "': the connection to the central node ended: ", e.what()));
  }
}

std::vector<uint8_t> TcpSiteChannel::receive_bytes(Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_for(lock, timeout, [&] { return !inbox_.empty() || !lost_.empty(); }))
    throw Error(msg("site '", o_.site, "': no message from the central node in ", timeout.count() / 1000.0, " s (dist.timeout_s)"));
  if (inbox_.empty()) throw LinkLost(-1, msg("site '", o_.site, "': the connection to the central node ended: ", lost_));
  std::vector<uint8_t> b = std::move(inbox_.front());
  inbox_.pop_front();
  return b;
}

}  // namespace asyndgan::dist
