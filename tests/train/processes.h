// Child processes for the deployment tests: the built CLI started in the background with its output in a file,
// waited for with a deadline and killed when it overruns, so no test can hang on a role.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>
#include "data/cli_util.h"

extern char** environ;

namespace asyndgan::test {

class Process {
 public:
  // Runs ASYNDGAN_CLI with `args` (split on spaces), stdout and stderr into `log`.
  Process(const std::string& args, std::string log) : log_(std::move(log)) {
    std::vector<std::string> argv = {ASYNDGAN_CLI};
    for (size_t at = 0; at < args.size();) {
      const size_t end = args.find(' ', at);
      const std::string w = args.substr(at, end == std::string::npos ? std::string::npos : end - at);
      if (!w.empty()) argv.push_back(w);
      if (end == std::string::npos) break;
      at = end + 1;
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Process() {
    if (pid_ > 0 && code_ < 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The exit status, or -2 after killing a process still running at the deadline (128 + n: killed by signal n).
  int wait(std::chrono::seconds limit) {
    if (code_ >= 0 || pid_ <= 0) return pid_ <= 0 ? -1 : code_;
    const auto end = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        return code_ = -2, -2;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return code_;
  }
  std::string output() const { return read_text_file(log_); }
  void signal(int sig) const {
    if (pid_ > 0 && code_ < 0) kill(pid_, sig);
  }
  // Waits until the output matches `pattern` (first group returned), the process ends, or the limit passes ("").
  std::string await(const std::string& pattern, std::chrono::seconds limit) {
    const std::regex re(pattern);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      std::smatch m;
      const std::string out = output();
      if (std::regex_search(out, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
      int status = 0;
      if (code_ < 0 && waitpid(pid_, &status, WNOHANG) == pid_) code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      if (code_ >= 0) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "";
  }

 private:
  pid_t pid_ = -1;
  int code_ = -1;
  std::string log_;
};

}  // namespace asyndgan::test
