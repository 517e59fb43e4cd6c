// In-process byte queues between the central node and each site, guarded for sites running in threads: one
// queue per site down, and one inbox up that the central end waits on for whichever site sends first.
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
struct Links {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::deque<std::vector<uint8_t>>> down, up;
  std::vector<bool> open;
  explicit Links(int64_t n) : down(static_cast<size_t>(n)), up(static_cast<size_t>(n)), open(static_cast<size_t>(n), true) {}
};

class CentralEnd : public ByteCentralChannel {
 public:
  CentralEnd(Links& links, WireDtype wire) : ByteCentralChannel(wire), l_(links) {}
  int64_t num_sites() const override { return static_cast<int64_t>(l_.open.size()); }
  void close(int64_t site) override {
    std::lock_guard<std::mutex> lock(l_.mutex);
    l_.open.at(static_cast<size_t>(site)) = false;
    l_.changed.notify_all();
  }

 protected:
  void send_bytes(int64_t site, std::vector<uint8_t> bytes) override {
    std::lock_guard<std::mutex> lock(l_.mutex);
    if (!l_.open[static_cast<size_t>(site)]) closed(msg("central -> site ", site));
    l_.down[static_cast<size_t>(site)].push_back(std::move(bytes));
    l_.changed.notify_all();
  }
  std::vector<uint8_t> receive_bytes(int64_t site, Timeout timeout) override {
    std::unique_lock<std::mutex> lock(l_.mutex);
    auto& q = l_.up[static_cast<size_t>(site)];
    if (!l_.changed.wait_for(lock, timeout, [&] { return !q.empty() || !l_.open[static_cast<size_t>(site)]; }))
      no_message(msg("site ", site, " -> central"), timeout);
    if (q.empty()) closed(msg("site ", site, " -> central"));
    std::vector<uint8_t> b = std::move(q.front());
    q.pop_front();
    return b;
  }
  std::pair<int64_t, std::vector<uint8_t>> receive_any_bytes(Timeout timeout) override {
    std::unique_lock<std::mutex> lock(l_.mutex);
    int64_t from = -1;
    auto ready = [&] {
      for (size_t j = 0; j < l_.up.size(); ++j)
        if (!l_.up[j].empty()) return from = static_cast<int64_t>(j), true;
      return std::find(l_.open.begin(), l_.open.end(), true) == l_.open.end();
    };
    if (!l_.changed.wait_for(lock, timeout, ready)) no_message("any site -> central", timeout);
    if (from < 0) closed("every site -> central");
    auto& q = l_.up[static_cast<size_t>(from)];
    std::vector<uint8_t> b = std::move(q.front());
    q.pop_front();
    return {from, std::move(b)};
  }

 private:
  Links& l_;
};

class SiteEnd : public ByteSiteChannel {
 public:
  SiteEnd(Links& links, int64_t site, WireDtype wire) : ByteSiteChannel(wire), l_(links), site_(static_cast<size_t>(site)) {}
  void close() override {
    std::lock_guard<std::mutex> lock(l_.mutex);
    l_.open[site_] = false;
    l_.changed.notify_all();
  }

 protected:
  void send_bytes(std::vector<uint8_t> bytes) override {
    std::lock_guard<std::mutex> lock(l_.mutex);
    if (!l_.open[site_]) closed(msg("site ", site_, " -> central"));
    l_.up[site_].push_back(std::move(bytes));
    l_.changed.notify_all();
  }
  std::vector<uint8_t> receive_bytes(Timeout timeout) override {
    std::unique_lock<std::mutex> lock(l_.mutex);
    auto& q = l_.down[site_];
    if (!l_.changed.wait_for(lock, timeout, [&] { return !q.empty() || !l_.open[site_]; }))
      no_message(msg("central -> site ", site_), timeout);
    if (q.empty()) closed(msg("central -> site ", site_));
    std::vector<uint8_t> b = std::move(q.front());
    q.pop_front();
    return b;
  }

 private:
  Links& l_;
  size_t site_;
};

}  // namespace

struct InProcessChannel::Impl {
  explicit Impl(int64_t n) : links(n) {}
  Links links;
  std::unique_ptr<CentralEnd> central;
  std::vector<std::unique_ptr<SiteEnd>> sites;
};

InProcessChannel::InProcessChannel(int64_t num_sites, WireDtype wire) {
  if (num_sites < 1) throw ValueError(msg("InProcessChannel: needs at least one site, got ", num_sites));
  impl_ = std::make_unique<Impl>(num_sites);
  impl_->central = std::make_unique<CentralEnd>(impl_->links, wire);
  for (int64_t j = 0; j < num_sites; ++j) impl_->sites.push_back(std::make_unique<SiteEnd>(impl_->links, j, wire));
}

InProcessChannel::~InProcessChannel() = default;

CentralChannel& InProcessChannel::central() { return *impl_->central; }

SiteChannel& InProcessChannel::site(int64_t j) {
  if (j < 0 || j >= num_sites()) throw ValueError(msg("InProcessChannel: site ", j, " outside the ", num_sites(), " sites"));
  return *impl_->sites[static_cast<size_t>(j)];
}

int64_t InProcessChannel::num_sites() const { return static_cast<int64_t>(impl_->sites.size()); }

}  // namespace asyndgan::dist
