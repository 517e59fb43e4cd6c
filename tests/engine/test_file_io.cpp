// The atomic writer's by-name mode, for libraries that open files themselves: a hidden temporary with the
// destination's suffix, committed by fsync and rename, removed when not committed; and the writer with a file mode.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <filesystem>
#include <fstream>
#include "base/error.h"
#include "engine/io/file_io.h"
#include "tests/engine/file_test_util.h"

using namespace asyndgan;
using asyndgan::test::read_bytes;
using asyndgan::test::ScratchDir;

namespace {
void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
}  // namespace

TEST_CASE("file_io: a by-name atomic write goes to a hidden temporary with the destination's suffix and appears only "
          "on commit") {
  ScratchDir dir("file_io_by_name");
  const std::string dest = dir.file("scan.nii.gz");
  {
    AtomicFileWriter w(dest, AtomicFileWriter::ByName{".nii.gz"});
    const std::string name = std::filesystem::path(w.temp_path()).filename().string();
    CHECK(name.starts_with(".scan.tmp"));
    CHECK(name.ends_with(".nii.gz"));
    CHECK(std::filesystem::path(w.temp_path()).parent_path() == dir.dir);
    CHECK(std::filesystem::exists(w.temp_path()));  // created, so the name is claimed
    CHECK_THROWS_AS(w.write("x", 1), IOError);
    write_text(w.temp_path(), "new contents");
    CHECK_FALSE(std::filesystem::exists(dest));
    w.commit();
    CHECK_FALSE(std::filesystem::exists(w.temp_path()));
    CHECK_THROWS_AS(w.commit(), IOError);
  }
  const std::vector<char> committed = read_bytes(dest);
  CHECK(std::string(committed.begin(), committed.end()) == "new contents");
  CHECK(dir.entries() == 1);

  {  // not committed: the temporary goes, the old file stays
    AtomicFileWriter w(dest, AtomicFileWriter::ByName{".nii.gz"});
    write_text(w.temp_path(), "abandoned");
  }
  CHECK(read_bytes(dest) == committed);
  CHECK(dir.entries() == 1);

  const std::string fresh = dir.file("never.nii");
  {
    AtomicFileWriter w(fresh, AtomicFileWriter::ByName{".nii"});
    write_text(w.temp_path(), "abandoned");
  }
  CHECK_FALSE(std::filesystem::exists(fresh));
  CHECK(dir.entries() == 1);

  CHECK_THROWS_AS(AtomicFileWriter(dir.file("scan.nii"), AtomicFileWriter::ByName{".nii.gz"}), ValueError);
  CHECK_THROWS_AS(AtomicFileWriter(dir.file("missing/x.nii"), AtomicFileWriter::ByName{".nii"}), IOError);
}

TEST_CASE("file_io: an atomic write with a mode gives the temporary and the file exactly that mode, whatever the "
          "umask and the mode of the file it replaces") {
  namespace fs = std::filesystem;
  ScratchDir dir("file_io_mode");
  const std::string dest = dir.file("site.key");
  write_text(dest, "old, world-readable");
  fs::permissions(dest, fs::perms::all);
  const mode_t old_umask = ::umask(0);  // the mode must not depend on the umask letting bits through
  {
    AtomicFileWriter w(dest, 0600);
    CHECK(fs::status(w.temp_path()).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
    w.write("secret", 6);
    w.commit();
  }
  ::umask(old_umask);
  CHECK(fs::status(dest).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  const std::vector<char> bytes = read_bytes(dest);
  CHECK(std::string(bytes.begin(), bytes.end()) == "secret");
  CHECK(dir.entries() == 1);
  {
    AtomicFileWriter w(dir.file("ca.pem"), 0644);
    w.commit();
  }
  CHECK(fs::status(dir.file("ca.pem")).permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));
  CHECK_THROWS_AS(AtomicFileWriter(dir.file("missing/x.key"), 0600), IOError);
}
