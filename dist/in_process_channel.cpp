// In-process byte queues between the central node and each site, guarded for sites running in threads.
#include "dist/in_process_channel.h"
#include <condition_variable>
#include <deque>

namespace asyndgan::dist {

namespace {

class Queue {
 public:
  void push(std::vector<uint8_t> b) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      q_.push_back(std::move(b));
    }
    cv_.notify_one();
  }
  std::vector<uint8_t> pop(std::chrono::milliseconds timeout, const std::string& link) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return !q_.empty(); }))
      throw Error(msg("in-process channel: no message on the ", link, " link after ", timeout.count(),
                      " ms; the other end never sent one (drive Central::begin_step, then each Site::serve_one, "
                      "then Central::finish_step, or run the sites in threads)"));
    std::vector<uint8_t> b = std::move(q_.front());
    q_.pop_front();
    return b;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::vector<uint8_t>> q_;
};

struct Link {
  Queue down, up;  // central -> site, site -> central
};

class CentralEnd : public CentralChannel {
 public:
  CentralEnd(std::vector<std::unique_ptr<Link>>& links, std::chrono::milliseconds timeout) : links_(links), timeout_(timeout) {}
  int64_t num_sites() const override { return static_cast<int64_t>(links_.size()); }

 protected:
  void send_bytes(int64_t site, std::vector<uint8_t> bytes) override { links_[static_cast<size_t>(site)]->down.push(std::move(bytes)); }
  std::vector<uint8_t> receive_bytes(int64_t site) override {
    return links_[static_cast<size_t>(site)]->up.pop(timeout_, msg("site ", site, " -> central"));
  }

 private:
  std::vector<std::unique_ptr<Link>>& links_;
  std::chrono::milliseconds timeout_;
};

class SiteEnd : public SiteChannel {
 public:
  SiteEnd(Link& link, int64_t site, std::chrono::milliseconds timeout) : link_(link), site_(site), timeout_(timeout) {}

 protected:
  void send_bytes(std::vector<uint8_t> bytes) override { link_.up.push(std::move(bytes)); }
  std::vector<uint8_t> receive_bytes() override { return link_.down.pop(timeout_, msg("central -> site ", site_)); }

 private:
  Link& link_;
  int64_t site_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

struct InProcessChannel::Impl {
  std::vector<std::unique_ptr<Link>> links;
  std::unique_ptr<CentralEnd> central;
  std::vector<std::unique_ptr<SiteEnd>> sites;
};

InProcessChannel::InProcessChannel(int64_t num_sites, std::chrono::milliseconds timeout) : impl_(std::make_unique<Impl>()) {
  if (num_sites < 1) throw ValueError(msg("InProcessChannel: needs at least one site, got ", num_sites));
  for (int64_t j = 0; j < num_sites; ++j) impl_->links.push_back(std::make_unique<Link>());
  impl_->central = std::make_unique<CentralEnd>(impl_->links, timeout);
  for (int64_t j = 0; j < num_sites; ++j) impl_->sites.push_back(std::make_unique<SiteEnd>(*impl_->links[static_cast<size_t>(j)], j, timeout));
}

InProcessChannel::~InProcessChannel() = default;

CentralChannel& InProcessChannel::central() { return *impl_->central; }

SiteChannel& InProcessChannel::site(int64_t j) {
  if (j < 0 || j >= num_sites()) throw ValueError(msg("InProcessChannel: site ", j, " outside the ", num_sites(), " sites"));
  return *impl_->sites[static_cast<size_t>(j)];
}

int64_t InProcessChannel::num_sites() const { return static_cast<int64_t>(impl_->links.size()); }

}  // namespace asyndgan::dist
