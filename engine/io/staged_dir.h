// A folder written whole or not at all: files go to a staging folder beside the target, which replaces the
// target in one rename once complete, so a reader never sees a half-written or mixed folder.
#pragma once
#include <string>

namespace asyndgan {

class StagedDirectory {
 public:
  // Creates `target`.staging-<pid> beside `target` (a leftover of this pid is removed first). IOError
  // naming it when it cannot be created.
  explicit StagedDirectory(std::string target);
  ~StagedDirectory();  // without commit(): removes the staging folder and what was written to it
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  const std::string& path() const { return staging_; }  // where to write
  const std::string& target() const { return target_; }
  // Syncs the staging folder and moves it to `target`: an absent or empty target is replaced in one rename;
  // a non-empty one, only when `replace_non_empty`, is exchanged with it atomically (renameat2) and the old
  // contents are removed after. Otherwise a target that another process filled meanwhile is an IOError (the
  // rename itself refuses a non-empty folder, so two writers cannot both win). Files written into the
  // folder must be synced already (AtomicFileWriter does).
  void commit(bool replace_non_empty);

 private:
  std::string target_, staging_;
  bool committed_ = false;
};

// The staging folders of earlier processes beside `target` (target.staging-<pid>), left by a kill.
std::string leftover_staging(const std::string& target);

}  // namespace asyndgan
