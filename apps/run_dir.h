// A training run's folder (output.dir): one run at a time (an flock'ed lock file naming its holder), what a run
// leaves there (so that a new run refuses a used folder unless --overwrite), and which checkpoint --resume takes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "engine/io/checkpoint.h"

namespace asyndgan::app {

// An exclusive flock(2) on <dir>/.lock, which holds "pid", "host" and "since" lines naming the holder; released
// (and its text emptied) when destroyed, and by the kernel when the process dies however it dies.
class RunLock {
 public:
  RunLock() = default;
  // Takes the lock or throws a ValueError naming the holder (pid, host, since when) and what to do. `what`
  // names the folder in messages ("output.dir 'runs/a'"). A lock file that still names a holder (one that ended
  // without releasing it: kill -9, a crash, a lost machine) is taken over, which is said on stdout.
  static RunLock take(const std::string& dir, const std::string& what);
  ~RunLock();
  RunLock(RunLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RunLock& operator=(RunLock&& o) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// Whether `dir` holds what a run writes that a new run would overwrite: checkpoints, or metrics.jsonl.
bool holds_run(const std::string& dir);

// --overwrite: removes an earlier run's files from `dir` (checkpoints/, metrics.jsonl, tb/, samples/, sites/,
// config.toml) and nothing else (a site's site_secret and audit.jsonl stay); returns what it removed.
std::vector<std::string> remove_run_files(const std::string& dir);

// Removes the temporary files our atomic writers leave when killed mid-write ("<name>.tmp.<pid>") from `dir`,
// its checkpoints/, samples/ and sites/<site>/samples/; only call it holding the folder's lock. Returns how many.
int remove_leftover_temporaries(const std::string& dir);

// The checkpoint --resume continues from: <dir>/checkpoints/latest.ckpt if it loads, verifies and holds only
// finite values, else the highest iter_N.ckpt that does. Says on stdout which it took and why it skipped any.
// ValueError listing what is wrong with each when none does.
struct ResumePoint {
  std::string path;
  Checkpoint checkpoint;
};
ResumePoint find_resume_checkpoint(const std::string& dir);

}  // namespace asyndgan::app
