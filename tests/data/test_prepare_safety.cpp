// What prepare and the shard readers refuse: subject ids and site names that are paths, a non-empty --out
// without --overwrite, zero samples, non-finite images, and shard folders that do not match their
// prepare.json; and that prepare's output appears whole or not at all.
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include "brats_fixture.h"
#include "data/cli_util.h"
#include "data/dataset.h"
#include "data/prepare.h"
#include "data/prepared_dir.h"
#include "data/shard.h"
#include "data/shard_forge.h"
#include "base/error.h"
#include "engine/file_test_util.h"
#include "engine/io/json.h"

using namespace asyndgan;
using namespace asyndgan::data;
namespace fs = std::filesystem;

namespace {

const std::array<int64_t, 3> kDims{24, 24, 12};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Sites north and south of two subjects each, in BraTS 2018-2021 layout with a name_mapping.csv.
Dataset small_dataset(const fs::path& dir) {
  fs::create_directories(dir);
  std::ofstream(dir / "name_mapping.csv") << "BraTS_2018_subject_ID\n";
  for (const char* site : {"north", "south"})
    for (int i = 0; i < 2; ++i) {
      const std::string id = "Brats18_" + std::string(site) + "_" + std::to_string(i) + "_1";
      test::write_fixture_subject(dir, id, test::make_fixture_subject(kDims, 4, 4.0, i), test::old_names());
      std::ofstream(dir / "name_mapping.csv", std::ios::app) << id << "\n";
    }
  return scan_brats(dir.string());
}

PrepareOptions small_options(uint64_t seed = 0) {
  PrepareOptions opt;
  opt.height = opt.width = 32;
  opt.min_tumor = 3;
  opt.split = {0.5, 0.5, 0.0};
  opt.seed = seed;
  return opt;
}

std::string read_text(const std::string& path) { return test::read_text_file(path); }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Rewrites prepare.json's recorded checksum of `file` after a test edited that shard on purpose.
void restamp(const std::string& dir, const std::string& file) {
  Json j = parse_json(read_text(dir + "/prepare.json"), "prepare.json");
  for (auto& s : j.at("sites"))
    if (s.at("shard") == file) {
      const ShardStamp st = shard_stamp(dir + "/" + file);
      s["shard_bytes"] = st.bytes;
      s["shard_crc32"] = st.crc32;
    }
  write_text(dir + "/prepare.json", dump_json(j) + "\n");
}

}  // namespace

TEST_CASE("prepare safety: manifest subject ids and site names that are paths are refused with the row and a fix") {
  test::ScratchDir tmp("safe_manifest");
  const auto s = test::make_fixture_subject(kDims, 4, 4.0);
  write_nifti(tmp.file("seg.nii"), s.label);
  write_nifti(tmp.file("t1.nii"), s.images[0]);
  const std::pair<std::string, std::string> bad[] = {
      {"../../x,s", "subject id '../../x' contains '/'"},
      {"/abs/path/x,s", "subject id '/abs/path/x' is an absolute path"},
      {"a\\b,s", "subject id 'a\\b' contains '\\'"},
      {"..,s", "subject id '..' contains '..'"},
      {"a\tb,s", "subject id 'a\\x09b' contains a control character"},
      {"a,../site", "site name '../site' contains '/'"},
  };
  for (const auto& [cells, expected] : bad) {
    CAPTURE(cells);
    write_text(tmp.file("m.csv"), "subject,site,label,t1\nok,s,seg.nii,t1.nii\n" + cells + ",seg.nii,t1.nii\n");
    const std::string e = test::error_message<FormatError>([&] { read_manifest(tmp.file("m.csv")); });
    CHECK(has(e, "m.csv: line 3: " + expected));
    CHECK(has(e, "rename it"));
  }

  // Through the CLI: refused before anything is written, inside or outside --out.
  write_text(tmp.file("m.csv"), "subject,site,label,t1\n../../evil,s,seg.nii,t1.nii\n");
  const test::CliResult r =
      test::run_cli("prepare --manifest " + tmp.file("m.csv") + " --out " + tmp.file("a/b/out") + " --size 32,32", tmp.file("log.txt"));
  CHECK(r.code != 0);
  CHECK(has(r.output, "line 2: subject id '../../evil' contains '/'"));
  CHECK(!fs::exists(tmp.dir / "a"));
  CHECK(!fs::exists(tmp.dir / "evil.shard"));
}

TEST_CASE("prepare safety: site names of a sites CSV, and datasets built in code, are checked too") {
  test::ScratchDir tmp("safe_sites");
  Dataset ds = small_dataset(tmp.dir / "brats");
  write_text(tmp.file("sites.csv"), "subject,site\nBrats18_north_0_1,../up\n");
  CHECK_THROWS_WITH_AS(scan_brats((tmp.dir / "brats").string(), tmp.file("sites.csv")),
                       doctest::Contains("sites.csv: line 2: site name '../up' contains '/'"), FormatError);

  const std::string out = tmp.file("out");
  Dataset bad = ds;
  bad.subjects[0].id = "../x";
  CHECK_THROWS_WITH_AS(prepare_dataset(bad, out, small_options()), doctest::Contains("subject id '../x' contains '/'"), FormatError);
  bad = ds;
  bad.subjects[2].site = "/abs";
  CHECK_THROWS_WITH_AS(prepare_dataset(bad, out, small_options()), doctest::Contains("site name '/abs' is an absolute path"),
                       FormatError);
  bad = ds;
  bad.subjects[2].site = bad.subjects[3].site = "North";  // "north" and "North": one file on macOS
  CHECK_THROWS_WITH_AS(prepare_dataset(bad, out, small_options()), doctest::Contains("differ only in case"), ValueError);
  CHECK(!fs::exists(out));
}

TEST_CASE("shard: a header whose subject id or site name is a path is refused, by the writer and on open") {
  test::ScratchDir tmp("safe_shard_names");
  ShardHeader h;
  h.site = "siteAAA";
  h.height = h.width = 4;
  h.condition_channels = {"brain"};
  h.image_channels = {"t1"};
  const std::vector<float> cond(16, 1.0f), img(16, 0.5f);
  CHECK_THROWS_WITH_AS(ShardWriter(tmp.file("x.shard"), [&] { auto b = h; b.site = "a/b"; return b; }()),
                       doctest::Contains("site name 'a/b' contains '/'"), ValueError);
  {
    ShardWriter w(tmp.file("s.shard"), h);
    CHECK_THROWS_WITH_AS(w.add(cond.data(), img.data(), {"../x", 0, Split::train, 1}), doctest::Contains("subject id contains '/'"),
                         ValueError);
    w.add(cond.data(), img.data(), {"subjAAA", 0, Split::train, 1});
    w.finish();
  }
  // A shard of an earlier version (or forged) with a valid checksum: synth would write ../evil_t1_synth.nii.gz.
  const std::string forged = tmp.file("forged.shard");
  fs::copy_file(tmp.file("s.shard"), forged);
  REQUIRE(test::forge_shard_text(forged, "subjAAA", "../evil"));
  for (bool verify : {true, false}) {
    const std::string e = test::error_message<FormatError>([&] { Shard::open(forged, verify); });
    CHECK(has(e, "shard '" + forged + "': subject id '../evil' contains '/'"));
    CHECK(has(e, "re-run `asyndgan prepare`"));
  }
  fs::copy_file(tmp.file("s.shard"), forged, fs::copy_options::overwrite_existing);
  REQUIRE(test::forge_shard_text(forged, "siteAAA", "/etc/xx"));
  CHECK_THROWS_WITH_AS(Shard::open(forged), doctest::Contains("site name '/etc/xx' is an absolute path"), FormatError);
}

TEST_CASE("shard: non-finite images are refused when written and when verified, naming subject, slice and modality") {
  test::ScratchDir tmp("safe_shard_nan");
  ShardHeader h;
  h.site = "s";
  h.height = 5;
  h.width = 7;
  h.condition_channels = {"background", "brain"};
  h.image_channels = {"t1", "flair"};
  std::vector<float> cond(2 * 35, 0.0f), img(2 * 35, 0.25f);
  {
    ShardWriter w(tmp.file("w.shard"), h);
    img[35 + 2 * 7 + 3] = std::nanf("");
    CHECK_THROWS_WITH_AS(w.add(cond.data(), img.data(), {"subj-0", 40, Split::train, 3}),
                         doctest::Contains("(subject 'subj-0', slice 40): image channel 'flair' value nan at row 2, column 3 is not finite"),
                         ValueError);
    img[35 + 2 * 7 + 3] = 0.25f;
    cond[1] = std::nanf("");
    CHECK_THROWS_WITH_AS(w.add(cond.data(), img.data(), {"subj-0", 40, Split::train, 3}),
                         doctest::Contains("condition channel 'background' value nan at row 0, column 1 is not finite"), ValueError);
    cond[1] = 0.0f;
    w.add(cond.data(), img.data(), {"subj-0", 40, Split::train, 3});
    w.add(cond.data(), img.data(), {"subj-1", 41, Split::train, 3});
    w.finish();
  }
  // A shard with NaN and a valid checksum (an older writer's, or forged): verifying finds it.
  test::forge_shard_image_f16(tmp.file("w.shard"), 1, 2 * 7 + 3, 0x7E00);
  CHECK_NOTHROW(Shard::open(tmp.file("w.shard"), /*verify_checksum=*/false));
  const std::string e = test::error_message<FormatError>([&] { Shard::open(tmp.file("w.shard")); });
  CHECK(has(e, "sample 0 (subject 'subj-0', slice 40): image channel 'flair' holds NaN at row 2, column 3"));
  CHECK(has(e, "re-run `asyndgan prepare`"));
  test::forge_shard_image_f16(tmp.file("w.shard"), 1, 2 * 7 + 3, 0x3400);  // back to 0.25
  test::forge_shard_image_f16(tmp.file("w.shard"), 0, 0, 0xFC00);
  CHECK_THROWS_WITH_AS(Shard::open(tmp.file("w.shard")), doctest::Contains("image channel 't1' holds -Inf at row 0, column 0"),
                       FormatError);
}

TEST_CASE("prepare safety: a non-empty --out is refused unless overwrite, which replaces it whole, and a failure keeps it") {
  test::ScratchDir tmp("safe_overwrite");
  const Dataset ds = small_dataset(tmp.dir / "brats");
  const std::string out = tmp.file("out");
  prepare_dataset(ds, out, small_options());
  const std::string before = read_text(out + "/prepare.json");
  CHECK(tmp.entries() == 2);  // brats and out: no staging folder left

  const std::string e = test::error_message<ValueError>([&] { prepare_dataset(ds, out, small_options(1)); });
  CHECK(has(e, "--out " + out + " is not empty"));
  CHECK(has(e, "pass --overwrite"));
  CHECK(read_text(out + "/prepare.json") == before);

  // A leftover shard of an earlier prepare is gone after --overwrite: the folder is replaced, not merged.
  fs::copy_file(out + "/north.shard", out + "/zzz.shard");
  const PrepareReport r = prepare_dataset(ds, out, small_options(1), /*overwrite=*/true);
  CHECK(!fs::exists(out + "/zzz.shard"));
  CHECK(r.sites[0].shard == out + "/north.shard");
  CHECK(read_text(out + "/prepare.json") != before);
  CHECK(tmp.entries() == 2);

  write_text(out + "/notes.txt", "mine");  // --overwrite never deletes what prepare did not write
  CHECK_THROWS_WITH_AS(prepare_dataset(ds, out, small_options(), true), doctest::Contains("also holds 'notes.txt'"), ValueError);
  fs::remove(out + "/notes.txt");

  // A prepare that fails half way leaves the old output as it was, and nothing else behind.
  const std::string second = read_text(out + "/prepare.json");
  Dataset broken = ds;
  broken.subjects[3].label_path = broken.subjects[3].modality_paths.at("t1");  // not a label map: values outside the set
  CHECK_THROWS_AS(prepare_dataset(broken, out, small_options(), true), FormatError);
  CHECK(read_text(out + "/prepare.json") == second);
  CHECK(prepared_shards(out).size() == 2);
  CHECK(tmp.entries() == 2);
  CHECK_THROWS_AS(prepare_dataset(broken, tmp.file("fresh"), small_options()), FormatError);
  CHECK(!fs::exists(tmp.file("fresh")));
  fs::create_directory_symlink(out, tmp.file("link"));  // renaming over it would replace the link, not the folder
  CHECK_THROWS_WITH_AS(prepare_dataset(ds, tmp.file("link"), small_options(), true), doctest::Contains("is a symbolic link"), IOError);
}

TEST_CASE("prepare safety: keeping zero samples is an error that says which options to change") {
  test::ScratchDir tmp("safe_zero");
  const Dataset ds = small_dataset(tmp.dir / "brats");
  PrepareOptions opt = small_options();
  opt.min_tumor = 100000;
  opt.healthy_share = 0;
  const std::string e = test::error_message<ValueError>([&] { prepare_dataset(ds, tmp.file("out"), opt); });
  CHECK(has(e, "no slice of the 4 subjects was kept"));
  CHECK(has(e, "lower --min-tumor"));
  CHECK(!fs::exists(tmp.file("out")));
}

TEST_CASE("prepared dir: shards must match prepare.json: leftover, missing, replaced and unlisted shards, a site twice") {
  test::ScratchDir tmp("safe_prepared_dir");
  const Dataset ds = small_dataset(tmp.dir / "brats");
  const std::string out = tmp.file("out"), other = tmp.file("other");
  prepare_dataset(ds, out, small_options());
  prepare_dataset(ds, other, small_options(7));  // another split: other shards of the same sites
  REQUIRE(prepared_shards(out) == std::vector<std::string>{out + "/north.shard", out + "/south.shard"});

  fs::copy_file(other + "/north.shard", out + "/old.shard");
  CHECK_THROWS_WITH_AS(prepared_shards(out), doctest::Contains((out + "/old.shard is not listed in " + out + "/prepare.json").c_str()), FormatError);
  CHECK_THROWS_WITH_AS(check_listed_shard(out + "/old.shard"), doctest::Contains("is not listed in"), FormatError);
  CHECK_NOTHROW(check_listed_shard(out + "/north.shard"));
  fs::remove(out + "/old.shard");

  fs::rename(out + "/prepare.json", tmp.file("prepare.json"));  // what a prepare killed half way used to leave
  CHECK_THROWS_WITH_AS(prepared_shards(out), doctest::Contains("holds .shard files but no prepare.json"), FormatError);
  CHECK_NOTHROW(check_listed_shard(out + "/north.shard"));  // a lone shard (a deployed site's) is taken as it is
  fs::rename(tmp.file("prepare.json"), out + "/prepare.json");

  fs::rename(out + "/south.shard", tmp.file("south.shard"));
  CHECK_THROWS_WITH_AS(prepared_shards(out), doctest::Contains("lists south.shard (site 'south') but"), FormatError);
  fs::copy_file(other + "/south.shard", out + "/south.shard");  // same name, another prepare's content
  CHECK_THROWS_WITH_AS(prepared_shards(out), doctest::Contains((out + "/south.shard is not the shard that").c_str()), FormatError);
  CHECK_THROWS_WITH_AS(check_listed_shard(out + "/south.shard"), doctest::Contains("is not the shard that"), FormatError);
  fs::copy_file(tmp.file("south.shard"), out + "/south.shard", fs::copy_options::overwrite_existing);
  CHECK(prepared_shards(out).size() == 2);

  Json j = parse_json(read_text(out + "/prepare.json"), "prepare.json");
  j["sites"][1]["site"] = "north";
  write_text(out + "/prepare.json", dump_json(j));
  CHECK_THROWS_WITH_AS(prepared_shards(out), doctest::Contains("site 'north' is listed twice"), FormatError);

  CHECK_THROWS_WITH_AS(check_distinct_sites({"a/x.shard", "a/y.shard"}, {"north", "north"}),
                       doctest::Contains("two shards of site 'north': a/x.shard and a/y.shard"), FormatError);
  CHECK_THROWS_WITH_AS(prepared_shards(tmp.file("none")), doctest::Contains("run 'asyndgan prepare"), IOError);
}

TEST_CASE("cli: prepare --overwrite, and shards and train --check refuse leftovers, a site twice and NaN images") {
  test::ScratchDir tmp("safe_cli");
  const std::string ph = tmp.file("phantom"), prep = tmp.file("prepared"), log = tmp.file("log.txt"), cfg = tmp.file("run.toml");
  REQUIRE(test::run_cli("phantom --out " + ph + " --sites 2 --subjects-per-site 2 --size 40,40,16", log).code == 0);
  const std::string prepare = "prepare --brats " + ph + " --out " + prep + " --size 32,32 --split 0.5,0.5,0 --min-tumor 5";
  REQUIRE(test::run_cli(prepare, log).code == 0);
  const test::CliResult again = test::run_cli(prepare, log);
  CHECK(again.code != 0);
  CHECK(has(again.output, "is not empty"));
  CHECK(has(again.output, "--overwrite"));
  const test::CliResult over = test::run_cli(prepare + " --overwrite", log);
  INFO(over.output);
  REQUIRE(over.code == 0);
  const test::CliResult none = test::run_cli("prepare --brats " + ph + " --out " + prep + " --size 32,32 --overwrite --min-tumor 100000 --healthy-share 0", log);
  CHECK(none.code != 0);
  CHECK(has(none.output, "lower --min-tumor"));
  CHECK(prepared_shards(prep).size() == 2);  // the failed prepare left the complete one in place

  std::ofstream(cfg) << "[data]\nshards = \"" << prep << "\"\n[model]\nngf = 8\nndf = 8\n";
  const std::string shards = "shards --dir " + prep + " --batches 0";
  REQUIRE(test::run_cli(shards, log).code == 0);
  REQUIRE(test::run_cli("train --config " + cfg + " --check", log).code == 0);

  fs::copy_file(prep + "/SiteA.shard", prep + "/SiteA_old.shard");
  for (const std::string& cmd : {shards, "train --config " + cfg + " --check"}) {
    CAPTURE(cmd);
    const test::CliResult r = test::run_cli(cmd, log);
    CHECK(r.code != 0);
    CHECK(has(r.output, "SiteA_old.shard is not listed in"));
  }
  fs::remove(prep + "/SiteA_old.shard");

  // SiteB's file holding SiteA's shard, restamped so prepare.json matches: one site twice.
  fs::copy_file(prep + "/SiteB.shard", tmp.file("SiteB.shard"));
  fs::copy_file(prep + "/SiteA.shard", prep + "/SiteB.shard", fs::copy_options::overwrite_existing);
  restamp(prep, "SiteB.shard");
  for (const std::string& cmd : {shards, "train --config " + cfg + " --check"}) {
    CAPTURE(cmd);
    const test::CliResult r = test::run_cli(cmd, log);
    CHECK(r.code != 0);
    CHECK(has(r.output, "two shards of site 'SiteA'"));
  }
  fs::copy_file(tmp.file("SiteB.shard"), prep + "/SiteB.shard", fs::copy_options::overwrite_existing);
  restamp(prep, "SiteB.shard");

  test::forge_shard_image_f16(prep + "/SiteA.shard", 0, 0, 0x7E00);
  restamp(prep, "SiteA.shard");
  const test::CliResult nan = test::run_cli(shards, log);
  CHECK(nan.code != 0);
  CHECK(has(nan.output, "SiteA.shard': sample 0 (subject '"));
  CHECK(has(nan.output, "image channel 't1' holds NaN at row 0, column 0"));
}
