// The run folder's lock (flock on <dir>/.lock), its leftovers and --resume's choice of checkpoint.
#include "apps/run_dir.h"
#include "apps/utc_time.h"
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <regex>
#include <thread>
#include "apps/run_checkpoint.h"
#include "base/error.h"

namespace asyndgan::app {
namespace fs = std::filesystem;
namespace {

std::string host_name() {
  char b[256] = {};
  if (::gethostname(b, sizeof b - 1) != 0) return "unknown";
  return b;
}

std::string read_fd(int fd) {
  std::string s;
  char b[512];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, b, sizeof b, at);
    if (n <= 0) break;
    s.append(b, static_cast<size_t>(n));
    at += n;
    if (s.size() > 4096) break;  // a lock file is a few lines; never read an arbitrary file whole
  }
  return s;
}

// The "key value" lines of a lock file.
std::map<std::string, std::string> fields(const std::string& text) {
  std::map<std::string, std::string> f;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, nl - at);
    const size_t sp = line.find(' ');
    if (sp != std::string::npos) f[line.substr(0, sp)] = line.substr(sp + 1);
    at = nl + 1;
  }
  return f;
}

bool running_here(const std::map<std::string, std::string>& f) {
  if (!f.count("pid") || !f.count("host") || f.at("host") != host_name()) return true;  // elsewhere: cannot tell
  const long pid = std::strtol(f.at("pid").c_str(), nullptr, 10);
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH);
}

std::string holder(const std::map<std::string, std::string>& f) {
  auto get = [&](const char* k) { return f.count(k) ? f.at(k) : std::string("?"); };
  return msg("pid ", get("pid"), " on host ", get("host"), " since ", get("since"));
}

// Who holds the lock `fd` could not take. One that has just taken it may not have written its name yet (the file
// may still name the holder before it, or nothing): give it a moment.
std::map<std::string, std::string> holder_of(int fd, int flock_errno) {
  std::map<std::string, std::string> f;
  if (flock_errno != EWOULDBLOCK) return f;
  for (int i = 0; i < 25; ++i) {
    f = fields(read_fd(fd));
    if (f.count("pid") && running_here(f)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return f;
}

}  // namespace

RunLock RunLock::take(const std::string& dir, const std::string& what) {
  const std::string path = (fs::path(dir) / ".lock").string();
  // Only a RunLock that holds the flock may empty the file when it goes: until then the descriptor is `fd`.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw ValueError(msg(what, ": cannot create its lock file ", path, " (", std::strerror(errno),
                         "); set output.dir to a folder this user can write"));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const auto f = holder_of(fd, err);
    ::close(fd);
    if (err != EWOULDBLOCK)
      throw ValueError(msg(what, ": cannot lock ", path, " (flock: ", std::strerror(err),
                           "); the file system may not support flock (some network file systems do not): put "
                           "output.dir on a local disk"));
    const std::string who = f.count("pid") ? holder(f) : "a process that has not written its name into the lock yet";
    const std::string stop = f.count("pid") ? msg(" or stop it (kill -TERM ", f.at("pid"), " on host ", f.at("host"),
                                                  ": it saves a checkpoint first)")
                                            : "";
    throw ValueError(msg(what, " is in use by another run: ", who, " holds its lock ", path,
                         ". One run per folder: wait for that run to end", stop,
                         ", then continue it with --resume; or set another output.dir"));
  }
  RunLock lock;
  lock.fd_ = fd;
  const auto before = fields(read_fd(lock.fd_));
  if (before.count("pid")) {
    std::printf("train: took over the lock %s of %s%s, which ended without releasing it\n", path.c_str(),
                holder(before).c_str(), running_here(before) ? "" : " (no longer running)");
    std::fflush(stdout);
  }
  const std::string text = msg("pid ", ::getpid(), "\nhost ", host_name(), "\nsince ", utc_time_now(), "\n");
  if (::ftruncate(lock.fd_, 0) != 0 || ::pwrite(lock.fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw ValueError(msg(what, ": cannot write its lock file ", path, " (", std::strerror(errno),
                         "); set output.dir to a folder this user can write"));
  return lock;
}

RunLock& RunLock::operator=(RunLock&& o) noexcept {
  if (this != &o) {
    this->~RunLock();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  // An empty lock file says the last holder released it; one that still names a holder was left by a death.
  if (::ftruncate(fd_, 0) != 0) {
    // the flock is released by close() all the same; the next run only says it took the lock over
  }
  ::close(fd_);
}

bool holds_run(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "metrics.jsonl", ec)) return true;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "checkpoints", ec))
    if (e.path().extension() == ".ckpt") return true;
  return false;
}

std::vector<std::string> remove_run_files(const std::string& dir) {
  std::vector<std::string> removed;
  for (const char* name : {"checkpoints", "metrics.jsonl", "tb", "samples", "sites", "config.toml"}) {
    const fs::path p = fs::path(dir) / name;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(p, ec))) continue;
    fs::remove_all(p, ec);
    if (ec) throw IOError(msg("--overwrite: cannot remove ", p.string(), ": ", ec.message()));
    removed.push_back(name);
  }
  return removed;
}

int remove_leftover_temporaries(const std::string& dir) {
  static const std::regex temp(R"(.+\.tmp\.[0-9]+)");  // AtomicFileWriter's "<path>.tmp.<pid>"
  std::vector<fs::path> folders = {dir, fs::path(dir) / "checkpoints", fs::path(dir) / "samples"};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "sites", ec))
    if (e.is_directory(ec)) folders.push_back(e.path() / "samples");
  int n = 0;
  for (const fs::path& folder : folders)
    for (const auto& e : fs::directory_iterator(folder, ec)) {
      std::error_code ec2;
      if (!e.is_regular_file(ec2) || !std::regex_match(e.path().filename().string(), temp)) continue;
      if (fs::remove(e.path(), ec2)) ++n;
    }
  return n;
}

ResumePoint find_resume_checkpoint(const std::string& dir) {
  const fs::path folder = fs::path(dir) / "checkpoints";
  std::vector<std::pair<int64_t, fs::path>> numbered;
  std::error_code ec;
  static const std::regex iter(R"(iter_([0-9]+)\.ckpt)");
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, iter)) numbered.emplace_back(std::stoll(m[1].str()), e.path());
  }
  std::sort(numbered.begin(), numbered.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> candidates;
  if (fs::exists(folder / "latest.ckpt", ec)) candidates.push_back((folder / "latest.ckpt").string());
  for (const auto& [n, p] : numbered) candidates.push_back(p.string());

  std::vector<std::string> skipped;
  for (const std::string& path : candidates) {
    try {
      ResumePoint r{path, load_run_checkpoint(path)};
      for (const std::string& why : skipped) std::printf("train: --resume: skipped %s\n", why.c_str());
      std::printf("train: --resume: continuing from %s\n", path.c_str());
      std::fflush(stdout);
      return r;
    } catch (const Error& e) {
      skipped.push_back(e.what());
    }
  }
  std::string why;
  for (const std::string& s : skipped) why += "\n  " + s;
  if (candidates.empty())
    throw ValueError(msg("train: --resume: no checkpoint in ", folder.string(),
                         " (train without --resume to start a run there)"));
  throw ValueError(msg("train: --resume: no checkpoint in ", folder.string(), " loads and verifies:", why,
                       "\nrestore one from a backup, or start over with --overwrite"));
}

}  // namespace asyndgan::app
