// In-process queues between the central node and each site, guarded for sites running in threads: one queue per
// site down, and one inbox up that the central end waits on for whichever site sends first. The queues hold
// encoded messages (Carry::bytes) or the messages themselves as the other end would decode them (Carry::tensors).
#include "dist/in_process_channel.h"
#include <condition_variable>
#include <algorithm>
#include <deque>

namespace asyndgan::dist {

namespace {

[[noreturn]] void no_message(const std::string& link, Timeout timeout) {
  throw Error(msg("in-process channel: no message on the ", link, " link after ", timeout.count(),
                  " ms; the other end never sent one (drive Central::begin_step, then each Site::serve_one, "
                  "then Central::finish_step, or run the sites in threads)"));
}

[[noreturn]] void closed(const std::string& link) {
  throw Error(msg("in-process channel: the ", link, " link is closed"));
}

// Per site: the messages waiting in each direction and whether the link was closed; one lock and one condition
// for everything, which is all an in-process run needs.
template <class Down, class Up>
struct Links {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::deque<Down>> down;
  std::vector<std::deque<Up>> up;
  std::vector<bool> open;
  explicit Links(int64_t n) : down(static_cast<size_t>(n)), up(static_cast<size_t>(n)), open(static_cast<size_t>(n), true) {}

  int64_t num_sites() const { return static_cast<int64_t>(open.size()); }
  void close(size_t site) {
    std::lock_guard<std::mutex> lock(mutex);
    open.at(site) = false;
    changed.notify_all();
  }
  template <class M>
  void push(std::vector<std::deque<M>>& queues, size_t site, M m, const std::string& link) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!open.at(site)) closed(link);
    queues[site].push_back(std::move(m));
    changed.notify_all();
  }
  template <class M>
  M pop(std::vector<std::deque<M>>& queues, size_t site, Timeout timeout, const std::string& link) {
    std::unique_lock<std::mutex> lock(mutex);
    auto& q = queues.at(site);
    if (!changed.wait_for(lock, timeout, [&] { return !q.empty() || !open[site]; })) no_message(link, timeout);
    if (q.empty()) closed(link);
    M m = std::move(q.front());
    q.pop_front();
    return m;
  }
  std::pair<int64_t, Up> pop_any_up(Timeout timeout) {
    std::unique_lock<std::mutex> lock(mutex);
    int64_t from = -1;
    auto ready = [&] {
      for (size_t j = 0; j < up.size(); ++j)
        if (!up[j].empty()) return from = static_cast<int64_t>(j), true;
      return std::find(open.begin(), open.end(), true) == open.end();
    };
    if (!changed.wait_for(lock, timeout, ready)) no_message("any site -> central", timeout);
    if (from < 0) closed("every site -> central");
    auto& q = up[static_cast<size_t>(from)];
    Up m = std::move(q.front());
    q.pop_front();
    return {from, std::move(m)};
  }
};

std::string up_link(size_t site) { return msg("site ", site, " -> central"); }
std::string down_link(size_t site) { return msg("central -> site ", site); }

using Bytes = std::vector<uint8_t>;
using ByteLinks = Links<Bytes, Bytes>;
using MessageLinks = Links<ToSite, ToCentral>;

class CentralEnd : public ByteCentralChannel {
 public:
  CentralEnd(ByteLinks& links, WireDtype wire) : ByteCentralChannel(wire), l_(links) {}
  int64_t num_sites() const override { return l_.num_sites(); }
  void close(int64_t site) override { l_.close(static_cast<size_t>(site)); }

 protected:
  void send_bytes(int64_t site, Bytes bytes) override {
    l_.push(l_.down, static_cast<size_t>(site), std::move(bytes), down_link(static_cast<size_t>(site)));
  }
  Bytes receive_bytes(int64_t site, Timeout timeout) override {
    return l_.pop(l_.up, static_cast<size_t>(site), timeout, up_link(static_cast<size_t>(site)));
  }
  std::pair<int64_t, Bytes> receive_any_bytes(Timeout timeout) override { return l_.pop_any_up(timeout); }

 private:
  ByteLinks& l_;
};

class SiteEnd : public ByteSiteChannel {
 public:
  SiteEnd(ByteLinks& links, int64_t site, WireDtype wire) : ByteSiteChannel(wire), l_(links), site_(static_cast<size_t>(site)) {}
  void close() override { l_.close(site_); }

 protected:
  void send_bytes(Bytes bytes) override { l_.push(l_.up, site_, std::move(bytes), up_link(site_)); }
  Bytes receive_bytes(Timeout timeout) override { return l_.pop(l_.down, site_, timeout, down_link(site_)); }

 private:
  ByteLinks& l_;
  size_t site_;
};

// Floating tensors of a received message onto the receiving role's device (they stay where they are when it
// is theirs already: no host round trip between roles on one GPU).
template <class Variant>
void land(Variant& v, Device device) {
  std::visit([&](auto& m) {
    using M = std::decay_t<decltype(m)>;
    if constexpr (std::is_same_v<M, Request>) m.synthetic = m.synthetic.to(device);
    if constexpr (std::is_same_v<M, Gradient>) m.grad = m.grad.to(device);
  }, v);
}

// The ends of Carry::tensors: the messages as decode would give them (carried), counted at their encoded size.
class TensorCentralEnd : public CentralChannel {
 public:
  TensorCentralEnd(MessageLinks& links, WireDtype wire) : l_(links), wire_(wire) {}
  int64_t num_sites() const override { return l_.num_sites(); }
  void close(int64_t site) override { l_.close(index(site)); }
  void send(int64_t site, const ToSite& m) override {
    ToSite c = carried(m, wire_);
    count(index(site), type_of(m), encoded_size(m, wire_));
    l_.push(l_.down, index(site), std::move(c), down_link(index(site)));
  }
  ToCentral receive(int64_t site, Timeout timeout) override {
    ToCentral m = l_.pop(l_.up, index(site), timeout, up_link(index(site)));
    return arrived(index(site), std::move(m));
  }
  Incoming receive_any(Timeout timeout) override {
    auto [site, m] = l_.pop_any_up(timeout);
    return {site, arrived(static_cast<size_t>(site), std::move(m))};
  }
  Traffic traffic() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Traffic t = traffic_;
    t.bytes.resize(static_cast<size_t>(num_sites()));
    t.messages.resize(static_cast<size_t>(num_sites()));
    return t;
  }
  void receive_on(Device device) override { landing_ = device; }

 private:
  size_t index(int64_t site) const {
    if (site < 0 || site >= num_sites()) throw ValueError(msg("channel: site ", site, " outside the run's ", num_sites(), " sites"));
    return static_cast<size_t>(site);
  }
  void count(size_t site, MessageType type, uint64_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    traffic_.add(site, type, n);
  }
  ToCentral arrived(size_t site, ToCentral m) {
    land(m, landing_);
    count(site, type_of(m), encoded_size(m, wire_));
    return m;
  }
  MessageLinks& l_;
  WireDtype wire_;
  Device landing_ = Device::cpu();
  mutable std::mutex mutex_;
  Traffic traffic_;
};

class TensorSiteEnd : public SiteChannel {
 public:
  TensorSiteEnd(MessageLinks& links, int64_t site, WireDtype wire) : l_(links), site_(static_cast<size_t>(site)), wire_(wire) {}
  void close() override { l_.close(site_); }
  void send(const ToCentral& m) override {
    ToCentral c = carried(m, wire_);
    record(true, m);
    l_.push(l_.up, site_, std::move(c), up_link(site_));
  }
  ToSite receive(Timeout timeout) override {
    ToSite m = l_.pop(l_.down, site_, timeout, down_link(site_));
    land(m, landing_);
    record(false, m);
    return m;
  }
  Traffic traffic() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return traffic_;
  }
  void receive_on(Device device) override { landing_ = device; }

 private:
  template <class M>
  void record(bool sent, const M& m) {
    const uint64_t n = encoded_size(m, wire_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      traffic_.add(0, type_of(m), n);
    }
    if (on_message) on_message(audit_entry(sent, m, n, wire_));
  }
  MessageLinks& l_;
  size_t site_;
  WireDtype wire_;
  Device landing_ = Device::cpu();
  mutable std::mutex mutex_;
  Traffic traffic_{std::vector<std::array<uint64_t, kMessageTypes>>(1), std::vector<std::array<uint64_t, kMessageTypes>>(1)};
};

}  // namespace

struct InProcessChannel::Impl {
  explicit Impl(int64_t n) : bytes(n), messages(n) {}
  ByteLinks bytes;
  MessageLinks messages;
  std::unique_ptr<CentralChannel> central;
  std::vector<std::unique_ptr<SiteChannel>> sites;
};

InProcessChannel::InProcessChannel(int64_t num_sites, WireDtype wire, Carry carry) {
  if (num_sites < 1) throw ValueError(msg("InProcessChannel: needs at least one site, got ", num_sites));
  impl_ = std::make_unique<Impl>(num_sites);
  if (carry == Carry::bytes) {
    impl_->central = std::make_unique<CentralEnd>(impl_->bytes, wire);
    for (int64_t j = 0; j < num_sites; ++j) impl_->sites.push_back(std::make_unique<SiteEnd>(impl_->bytes, j, wire));
  } else {
    impl_->central = std::make_unique<TensorCentralEnd>(impl_->messages, wire);
    for (int64_t j = 0; j < num_sites; ++j) impl_->sites.push_back(std::make_unique<TensorSiteEnd>(impl_->messages, j, wire));
  }
}

InProcessChannel::~InProcessChannel() = default;

CentralChannel& InProcessChannel::central() { return *impl_->central; }

SiteChannel& InProcessChannel::site(int64_t j) {
  if (j < 0 || j >= num_sites()) throw ValueError(msg("InProcessChannel: site ", j, " outside the ", num_sites(), " sites"));
  return *impl_->sites[static_cast<size_t>(j)];
}

int64_t InProcessChannel::num_sites() const { return static_cast<int64_t>(impl_->sites.size()); }

}  // namespace asyndgan::dist
