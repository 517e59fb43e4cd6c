// Dataset tests: the CSV reader, BraTS layout and label-convention detection for both naming schemes,
// sites from name_mapping.csv or a user CSV, CSV manifests with their own modalities and label sets, errors.
#include <doctest/doctest.h>
#include <fstream>
#include "data/brats_sites.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "brats_fixture.h"
#include "base/error.h"
#include "engine/file_test_util.h"

using namespace asyndgan;
using namespace asyndgan::data;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

const std::array<int64_t, 3> kTiny{12, 12, 8};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("dataset: CSV reader handles quoted fields, doubled quotes, CRLF, a BOM and blank lines") {
  auto rows = parse_csv("\xEF\xBB\xBFsubject, site ,path\r\n\r\n\"a,1\",\"say \"\"hi\"\"\",\" x \"\r\nb,c,\"two\nlines\"\nd,,", "t.csv");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].cells == std::vector<std::string>{"subject", "site", "path"});
  CHECK(rows[1].cells == std::vector<std::string>{"a,1", "say \"hi\"", " x "});
  CHECK(rows[1].line == 3);
  CHECK(rows[2].cells == std::vector<std::string>{"b", "c", "two\nlines"});
  CHECK(rows[3].cells == std::vector<std::string>{"d", "", ""});
  CHECK(rows[3].line == 6);
  CHECK(csv_column(rows[0], "SITE") == 1);
  CHECK(csv_column(rows[0], "label") == -1);
  CHECK_THROWS_WITH_AS(parse_csv("a,\"open\nb", "bad.csv"), doctest::Contains("bad.csv: line 1: unterminated"), FormatError);
  CHECK_THROWS_AS(parse_csv("a,\"q\"x,b", "bad.csv"), FormatError);
}

TEST_CASE("dataset: BraTS institution tokens and the paper's 3-site grouping") {
  CHECK(brats_institution("Brats18_CBICA_AAB_1") == "CBICA");
  CHECK(brats_institution("Brats18_TCIA01_131_1") == "TCIA01");
  CHECK(brats_institution("Brats18_2013_2_1") == "2013");
  CHECK(brats_institution("BraTS19_TMC_06290_1") == "TMC");
  CHECK(brats_institution("Brats18_SiteA_ABC_1") == "SiteA");  // the phantom's ids
  CHECK(brats_institution("NA") == "");
  CHECK(brats_institution("BraTS20_Training_001") == "Training");  // not a 2018 id: callers use the 2018 column
  CHECK(group_site("CBICA", SiteGrouping::paper) == "CBICA");
  CHECK(group_site("TCIA08", SiteGrouping::paper) == "TCIA");
  CHECK(group_site("2013", SiteGrouping::paper) == "other");
  CHECK(group_site("TCIA08", SiteGrouping::institution) == "TCIA08");
  CHECK_THROWS_AS(parse_site_grouping("three"), ValueError);
  CHECK(brats_labels(2020).file_values == std::vector<int>{0, 1, 2, 4});
  CHECK(brats_labels(2023).file_values == std::vector<int>{0, 1, 2, 3});
  CHECK(brats_labels(2023).internal(3) == 3);
  CHECK(brats_labels(2021).internal(3) == -1);
}

TEST_CASE("dataset: BraTS 2018-2021 names inside HGG/LGG, .nii and .nii.gz, skipping subjects without a label") {
  test::ScratchDir tmp("ds_old");
  auto s = test::make_fixture_subject(kTiny, 4, 3.0);
  test::write_fixture_subject(tmp.dir / "HGG", "Brats18_CBICA_AAA_1", s, test::old_names(), "_", ".nii.gz");
  test::write_fixture_subject(tmp.dir / "LGG", "Brats18_TCIA01_100_1", s, test::old_names(), "_", ".nii");
  test::write_fixture_subject(tmp.dir / "HGG", "Brats18_CBICA_NOL_1", s, {"", "t1", "t1ce", "t2", "flair"});
  write_text(tmp.dir / "survival_data.csv", "id\n");
  Dataset ds = scan_brats(tmp.dir.string());
  REQUIRE(ds.subjects.size() == 2);
  CHECK(ds.modalities == std::vector<std::string>{"t1", "t1ce", "t2", "flair"});
  CHECK(ds.labels.file_values == std::vector<int>{0, 1, 2, 4});
  CHECK(ds.subjects[0].id == "Brats18_CBICA_AAA_1");
  CHECK(ds.subjects[0].modality_paths.size() == 4);
  CHECK(contains(ds.subjects[0].modality_paths.at("t1ce"), "HGG/Brats18_CBICA_AAA_1/Brats18_CBICA_AAA_1_t1ce.nii.gz"));
  CHECK(contains(ds.subjects[1].label_path, "LGG/Brats18_TCIA01_100_1/Brats18_TCIA01_100_1_seg.nii"));
  CHECK(ds.sites() == std::vector<std::string>{"all"});
  CHECK(contains(ds.description, "2018-2021"));
  // The warning names the subject and the label file that was looked for.
  CHECK(contains(ds.description, "skipped 1 subject without a label file: Brats18_CBICA_NOL_1 (no "));
  CHECK(contains(ds.description, "HGG/Brats18_CBICA_NOL_1/Brats18_CBICA_NOL_1_seg.nii.gz)"));
}

TEST_CASE("dataset: BraTS 2023 names map to t1/t1ce/t2/flair with enhancing tumor 3, a missing modality stays absent") {
  test::ScratchDir tmp("ds_new");
  auto s = test::make_fixture_subject(kTiny, 3, 3.0);
  test::write_fixture_subject(tmp.dir, "BraTS-GLI-00000-000", s, test::new_names(), "-", ".nii.gz");
  test::write_fixture_subject(tmp.dir, "BraTS-GLI-00002-000", s, {"seg", "t1n", "t1c", "", "t2f"}, "-", ".nii.gz");
  Dataset ds = scan_brats(tmp.dir.string());
  REQUIRE(ds.subjects.size() == 2);
  CHECK(ds.labels.file_values == std::vector<int>{0, 1, 2, 3});
  CHECK(ds.labels.names == std::vector<std::string>{"background", "ncr", "ed", "et"});
  CHECK(contains(ds.subjects[0].modality_paths.at("t1"), "-t1n.nii.gz"));
  CHECK(contains(ds.subjects[0].modality_paths.at("t1ce"), "-t1c.nii.gz"));
  CHECK(contains(ds.subjects[0].modality_paths.at("t2"), "-t2w.nii.gz"));
  CHECK(contains(ds.subjects[0].modality_paths.at("flair"), "-t2f.nii.gz"));
  CHECK(ds.subjects[1].modality_paths.count("t2") == 0);
  CHECK(ds.subjects[1].modality_paths.size() == 3);
  CHECK(contains(ds.description, "2023"));
  CHECK(contains(ds.description, "enhancing tumor = 3"));
}

TEST_CASE("dataset: the label convention comes from the label files, not only the names") {
  test::ScratchDir tmp("ds_conv");
  // 2018-2021 names but 2023 values (a converted release): the files win, and the description says so.
  test::write_fixture_subject(tmp.dir, "Brats18_CBICA_AAA_1", test::make_fixture_subject(kTiny, 3, 3.0), test::old_names());
  Dataset ds = scan_brats(tmp.dir.string());
  CHECK(ds.labels.file_values == std::vector<int>{0, 1, 2, 3});
  CHECK(contains(ds.description, "other convention"));

  // A first subject without enhancing tumor does not decide; the next one does.
  test::ScratchDir tmp2("ds_conv2");
  test::write_fixture_subject(tmp2.dir, "A_1", test::make_fixture_subject(kTiny, 2, 3.0), test::new_names(), "-");
  test::write_fixture_subject(tmp2.dir, "B_1", test::make_fixture_subject(kTiny, 4, 3.0), test::new_names(), "-");
  CHECK(scan_brats(tmp2.dir.string()).labels.file_values == std::vector<int>{0, 1, 2, 4});

  // Both 3 and 4 in one file: an error naming it.
  test::ScratchDir tmp3("ds_conv3");
  auto both = test::make_fixture_subject(kTiny, 4, 3.0);
  both.label.at(6, 6, 4) = 3;
  test::write_fixture_subject(tmp3.dir, "Brats18_X_1_1", both, test::old_names());
  CHECK_THROWS_WITH_AS(scan_brats(tmp3.dir.string()), doctest::Contains("Brats18_X_1_1_seg.nii: holds both label 3 and label 4"),
                       FormatError);
}

TEST_CASE("dataset: sites from BraTS 2020's name_mapping.csv and from a user CSV") {
  test::ScratchDir tmp("ds_sites");
  auto s = test::make_fixture_subject(kTiny, 4, 3.0);
  for (int i = 1; i <= 5; ++i)
    test::write_fixture_subject(tmp.dir, "BraTS20_Training_00" + std::to_string(i), s, test::old_names());
  write_text(tmp.dir / "name_mapping.csv",
             "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,TCGA_TCIA_subject_ID,BraTS_2019_subject_ID,BraTS_2020_subject_ID\r\n"
             "HGG,Brats17_CBICA_AAB_1,Brats18_CBICA_AAB_1,NA,BraTS19_CBICA_AAB_1,BraTS20_Training_001\r\n"
             "HGG,Brats17_TCIA_131_1,Brats18_TCIA01_131_1,TCGA-06-0130,BraTS19_TCIA01_131_1,BraTS20_Training_002\r\n"
             "LGG,Brats17_2013_2_1,Brats18_2013_2_1,NA,BraTS19_2013_2_1,BraTS20_Training_003\r\n"
             "HGG,NA,\"Brats18_SiteA_ABC_1\",NA,NA,BraTS20_Training_004\r\n"
             "HGG,NA,NA,NA,BraTS19_TMC_06290_1,BraTS20_Training_005\r\n");
  Dataset ds = scan_brats(tmp.dir.string());
  REQUIRE(ds.subjects.size() == 5);
  CHECK(ds.subjects[0].site == "CBICA");
  CHECK(ds.subjects[1].site == "TCIA01");
  CHECK(ds.subjects[2].site == "2013");
  CHECK(ds.subjects[3].site == "SiteA");
  CHECK(ds.subjects[4].site == "TMC");
  CHECK(contains(ds.description, "name_mapping.csv"));

  // A user CSV overrides name_mapping.csv; a header is optional; a subject it lacks is an error.
  const auto csv = tmp.file("sites.csv");
  write_text(csv, "subject,site\nBraTS20_Training_001,north\nBraTS20_Training_002,south\nBraTS20_Training_003,north\n"
                  "BraTS20_Training_004,south\nBraTS20_Training_005,north\n");
  Dataset u = scan_brats(tmp.dir.string(), csv);
  CHECK(u.sites() == std::vector<std::string>{"north", "south"});
  CHECK(u.subjects[1].site == "south");
  write_text(csv, "BraTS20_Training_001,north\n");
  CHECK_THROWS_WITH_AS(scan_brats(tmp.dir.string(), csv), doctest::Contains("4 subjects"), FormatError);
}

TEST_CASE("dataset: BraTS errors name the directory or files") {
  test::ScratchDir tmp("ds_err");
  CHECK_THROWS_WITH_AS(scan_brats(tmp.file("nope")), doctest::Contains("nope: BraTS directory does not exist"), IOError);
  CHECK_THROWS_WITH_AS(scan_brats(tmp.dir.string()), doctest::Contains("no BraTS subjects found"), FormatError);

  auto s = test::make_fixture_subject(kTiny, 4, 3.0);
  test::write_fixture_subject(tmp.dir, "Brats18_A_1_1", s, test::old_names());
  test::write_fixture_subject(tmp.dir, "BraTS-GLI-00001-000", s, test::new_names(), "-");
  CHECK_THROWS_WITH_AS(scan_brats(tmp.dir.string()), doctest::Contains("mixes BraTS 2018-2021 names"), FormatError);

  test::ScratchDir dup("ds_dup");
  test::write_fixture_subject(dup.dir, "Brats18_A_1_1", s, test::old_names(), "_", ".nii");
  test::write_fixture_subject(dup.dir, "Brats18_A_1_1", s, {"", "t1", "", "", ""}, "_", ".nii.gz");
  CHECK_THROWS_WITH_AS(scan_brats(dup.dir.string()), doctest::Contains("has two t1 files"), FormatError);

  test::ScratchDir nolabel("ds_nolabel");
  test::write_fixture_subject(nolabel.dir, "Brats18_A_1_1", s, {"", "t1", "", "", ""});
  CHECK_THROWS_WITH_AS(scan_brats(nolabel.dir.string()), doctest::Contains("none has both a label"), FormatError);
}

TEST_CASE("dataset: a manifest with one modality, a custom label set, splits and relative paths") {
  test::ScratchDir tmp("ds_manifest");
  data::Volume img = make_volume(kTiny, {1, 1, 1}, 5.0f), lab = make_volume(kTiny);
  lab.at(3, 3, 3) = 7;
  write_nifti(tmp.file("a_t1.nii"), img);
  write_nifti(tmp.file("a_lab.nii"), lab);
  fs::create_directories(tmp.dir / "b dir");
  write_nifti((tmp.dir / "b dir" / "t1.nii").string(), img);
  write_nifti((tmp.dir / "b dir" / "lab.nii").string(), lab);
  write_text(tmp.dir / "manifest.csv",
             "subject,site,split,label,T1\n"
             "a,hospital1,train,a_lab.nii,a_t1.nii\n"
             "b,\"hospital 2\",Test,\"b dir/lab.nii\",\"b dir/t1.nii\"\n");
  Dataset ds = read_manifest(tmp.file("manifest.csv"), "0,7", "bg,lesion");
  REQUIRE(ds.subjects.size() == 2);
  CHECK(ds.modalities == std::vector<std::string>{"T1"});
  CHECK(ds.labels.names == std::vector<std::string>{"bg", "lesion"});
  CHECK(ds.labels.internal(7) == 1);
  CHECK(ds.subjects[0].split == "train");
  CHECK(ds.subjects[1].split == "test");
  CHECK(ds.subjects[1].site == "hospital 2");
  CHECK(fs::path(ds.subjects[1].modality_paths.at("T1")) == tmp.dir / "b dir" / "t1.nii");
  CHECK(ds.sites() == std::vector<std::string>{"hospital 2", "hospital1"});
  // Without label values: BraTS's; without names: "background" then label<value>.
  CHECK(read_manifest(tmp.file("manifest.csv")).labels.file_values == std::vector<int>{0, 1, 2, 4});
  CHECK(read_manifest(tmp.file("manifest.csv"), "0,7").labels.names == std::vector<std::string>{"background", "label7"});
}

TEST_CASE("dataset: manifest errors name the file, line and fix") {
  test::ScratchDir tmp("ds_manifest_err");
  write_nifti(tmp.file("x.nii"), make_volume(kTiny));
  const auto m = tmp.file("m.csv");
  write_text(m, "subject,label,t1\na,x.nii,x.nii\n");
  CHECK_THROWS_WITH_AS(read_manifest(m), doctest::Contains("needs columns subject, site and label"), FormatError);
  write_text(m, "subject,site,label,t1\na,s,x.nii,missing.nii\n");
  CHECK_THROWS_WITH_AS(read_manifest(m), doctest::Contains("line 2: t1 of subject 'a': file"), FormatError);
  write_text(m, "subject,site,label,t1\na,s,nolabel.nii,x.nii\n");  // a missing label file names the subject and file
  CHECK_THROWS_WITH_AS(read_manifest(m), doctest::Contains("line 2: label of subject 'a': file"), FormatError);
  CHECK_THROWS_WITH_AS(read_manifest(m), doctest::Contains("nolabel.nii' does not exist"), FormatError);
  write_text(m, "subject,site,label,t1\na,s,x.nii,x.nii\na,s,x.nii,x.nii\n");
  CHECK_THROWS_WITH_AS(read_manifest(m), doctest::Contains("line 3: subject 'a' is listed twice"), FormatError);
  write_text(m, "subject,site,label,t1\na,s,x.nii,\n");
  CHECK_THROWS_WITH_AS(read_manifest(m), doctest::Contains("has no modality file"), FormatError);
  write_text(m, "subject,site,split,label,t1\na,s,holdout,x.nii,x.nii\n");
  CHECK_THROWS_WITH_AS(read_manifest(m), doctest::Contains("split 'holdout'"), FormatError);
  write_text(m, "subject,site,label\na,s,x.nii\n");
  CHECK_THROWS_WITH_AS(read_manifest(m), doctest::Contains("no modality columns"), FormatError);
  write_text(m, "subject,site,label,t1\na,s,x.nii,x.nii\n");
  CHECK_THROWS_AS(read_manifest(m, "0,x"), ValueError);
  CHECK_THROWS_AS(read_manifest(m, "0,1,1"), ValueError);
  CHECK_THROWS_AS(read_manifest(m, "0,1", "a,b,c"), ValueError);
  CHECK_THROWS_AS(read_manifest(tmp.file("none.csv")), IOError);
}
