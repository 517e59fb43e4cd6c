// StagedDirectory: staging folder beside the target, fsync, then rename or atomic exchange (Linux renameat2).
#include "engine/io/staged_dir.h"
#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include "base/error.h"

namespace asyndgan {

namespace fs = std::filesystem;

namespace {

// "out/" and "out/." name the folder "out": the staging folder must be its sibling, not its child.
fs::path folder_path(const std::string& target) {
  fs::path p = fs::path(target).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p;
}

void fsync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // written all the same; only durability across a power cut is weaker
  ::fsync(fd);
  ::close(fd);
}

std::string staging_prefix(const fs::path& target) { return target.filename().string() + ".staging-"; }

}  // namespace

StagedDirectory::StagedDirectory(std::string target) {
  const fs::path t = folder_path(target);
  if (t.empty() || t.filename() == "." || t.filename() == "..")
    throw ValueError(msg("'", target, "' does not name a folder that can be written whole (give a folder name)"));
  target_ = t.string();
  staging_ = (t.parent_path() / (staging_prefix(t) + std::to_string(::getpid()))).string();
  std::error_code ec;
  fs::remove_all(staging_, ec);
  if (!t.parent_path().empty()) fs::create_directories(t.parent_path(), ec);
  if (!fs::create_directory(staging_, ec) || ec)
    throw IOError(msg("cannot create the staging folder '", staging_, "' beside '", target_, "': ",
                      ec ? ec.message() : "it exists"));
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedDirectory::commit(bool replace_non_empty) {
  if (committed_) throw ValueError(msg("StagedDirectory '", target_, "': commit() called twice"));
  fsync_path(staging_);
  std::error_code ec;
  const bool exists = fs::exists(fs::symlink_status(target_, ec));
  if (exists && !fs::is_directory(fs::symlink_status(target_, ec)))
    throw IOError(msg("'", target_, "' exists and is not a folder: move it away"));
  bool renamed = false;
  if (!exists || fs::is_empty(target_, ec)) {
    renamed = std::rename(staging_.c_str(), target_.c_str()) == 0;
    if (!renamed && !exists)
      throw IOError(msg("cannot rename '", staging_, "' to '", target_, "': ", std::strerror(errno)));
  }
  if (!renamed && !replace_non_empty)
    throw IOError(msg("'", target_, "' is not empty (another process wrote to it meanwhile?): nothing was replaced"));
  if (!renamed) {
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) != 0) {
      // No exchange on this file system: move the old folder aside first (a reader may briefly find none).
      const std::string old = staging_ + ".old";
      if (std::rename(target_.c_str(), old.c_str()) != 0)
        throw IOError(msg("cannot move '", target_, "' aside to replace it: ", std::strerror(errno)));
      if (std::rename(staging_.c_str(), target_.c_str()) != 0) {
        const int e = errno;
        std::rename(old.c_str(), target_.c_str());
        throw IOError(msg("cannot rename '", staging_, "' to '", target_, "': ", std::strerror(e)));
      }
      fs::rename(old, staging_, ec);
    }
  }
  committed_ = true;
  fsync_path(fs::path(target_).parent_path().empty() ? fs::path(".") : fs::path(target_).parent_path());
  fs::remove_all(staging_, ec);  // the old contents, now under the staging name
}

std::string leftover_staging(const std::string& target) {
  const fs::path t = folder_path(target);
  const fs::path parent = t.parent_path().empty() ? fs::path(".") : t.parent_path();
  const std::string prefix = staging_prefix(t), mine = prefix + std::to_string(::getpid());
  std::error_code ec;
  std::string found;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name != mine) found += (found.empty() ? "" : ", ") + it->path().string();
  }
  return found;
}

}  // namespace asyndgan
