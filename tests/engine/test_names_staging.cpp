// Names that become file names (plain names, paths kept inside their folder) and folders written whole
// through a staging folder (engine/io/names.h, engine/io/staged_dir.h).
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include "base/error.h"
#include "engine/file_test_util.h"
#include "engine/io/names.h"
#include "engine/io/staged_dir.h"

using namespace asyndgan;
namespace fs = std::filesystem;

TEST_CASE("names: ids with separators, '..', control characters or nothing are not plain names") {
  for (const char* ok : {"BraTS20_Training_001", "SiteA", "a.b", "x-y z", "TCIA01"}) CHECK_MESSAGE(name_problem(ok).empty(), ok);
  CHECK(name_problem("") == "is empty");
  CHECK(name_problem("../../x") == "contains '/'");
  CHECK(name_problem("/abs/path/x") == "is an absolute path");
  CHECK(name_problem("a\\b") == "contains '\\'");
  CHECK(name_problem("..") == "contains '..'");
  CHECK(name_problem("a..b") == "contains '..'");
  CHECK(name_problem("a\nb") == "contains a control character");
  CHECK(name_problem(std::string("a\x7f", 2)) == "contains a control character");
  CHECK(printable("a\nb") == "a\\x0ab");
}

TEST_CASE("names: path_inside keeps a written path inside its folder and names the path it refuses") {
  CHECK(path_inside("out", "s_t1_synth.nii.gz") == "out/s_t1_synth.nii.gz");
  CHECK(path_inside("out", "sites/SiteA") == "out/sites/SiteA");
  for (const char* bad : {"../x_t1.nii.gz", "../../x", "/abs/path/x_preview.png", "sites/../../x", "", "."}) {
    CAPTURE(bad);
    const std::string e = test::error_message<ValueError>([&] { path_inside("out", bad); });
    CHECK(e.find("refusing to write") != std::string::npos);
    CHECK(e.find("not inside the output folder 'out'") != std::string::npos);
  }
  CHECK(test::error_message<ValueError>([] { path_inside("out", "../../x_t1_synth.nii.gz"); }).find("'out/../../x_t1_synth.nii.gz'") !=
        std::string::npos);
}

TEST_CASE("staged dir: the target appears only at commit, replaces an old folder whole, and a failure leaves it as it was") {
  test::ScratchDir tmp("staged_dir");
  const std::string target = tmp.file("out");
  {
    StagedDirectory s(target + "/");  // a trailing slash still names the folder: the staging folder is its sibling
    CHECK(s.path() == target + ".staging-" + std::to_string(::getpid()));
    std::ofstream(s.path() + "/a.txt") << "new";
    CHECK(!fs::exists(target));
    s.commit(false);
  }
  CHECK(fs::exists(target + "/a.txt"));
  CHECK(tmp.entries() == 1);  // no staging folder left

  std::ofstream(target + "/old.txt") << "old";
  {
    StagedDirectory s(target);
    std::ofstream(s.path() + "/b.txt") << "newer";
    CHECK(fs::exists(target + "/old.txt"));  // untouched until commit
    // Not told to replace a non-empty folder (another writer filled it meanwhile): refused, nothing moved.
    CHECK_THROWS_WITH_AS(s.commit(false), doctest::Contains("is not empty"), IOError);
    CHECK(fs::exists(target + "/old.txt"));
  }
  CHECK(tmp.entries() == 1);
  {
    StagedDirectory s(target);
    std::ofstream(s.path() + "/b.txt") << "newer";
    s.commit(true);
  }
  CHECK(fs::exists(target + "/b.txt"));
  CHECK(!fs::exists(target + "/old.txt"));  // replaced whole, not merged
  CHECK(!fs::exists(target + "/a.txt"));
  CHECK(tmp.entries() == 1);

  {
    StagedDirectory s(target);  // never committed: a failed run
    std::ofstream(s.path() + "/c.txt") << "half";
  }
  CHECK(fs::exists(target + "/b.txt"));
  CHECK(!fs::exists(target + "/c.txt"));
  CHECK(tmp.entries() == 1);

  fs::create_directory(target + ".staging-999999999");  // a kill's leftover is reported, not touched
  CHECK(leftover_staging(target) == target + ".staging-999999999");
  CHECK(fs::exists(target + ".staging-999999999"));
}
