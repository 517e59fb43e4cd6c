// Preprocessing tests: normalization, label mapping, slice selection, pad/crop/resize, condition maps,
// subject-level splits, and prepare_dataset end to end (shards, availability masks, determinism, CLI).
#include <doctest/doctest.h>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include "brats_fixture.h"
#include "data/dataset.h"
#include "data/prepare.h"
#include "data/preprocess.h"
#include "data/shard.h"
#include "base/error.h"
#include "engine/file_test_util.h"
#include "data/cli_util.h"
#include "engine/io/json.h"
#ifdef _OPENMP
#include <omp.h>
#endif

using namespace asyndgan;
using namespace asyndgan::data;
namespace fs = std::filesystem;

namespace {

const std::array<int64_t, 3> kDims{48, 40, 32};

// Two sites of three subjects in BraTS 2018-2021 layout; site "south" subject 2 lacks t2.
Dataset write_fixture_dataset(const fs::path& dir) {
  for (int site = 0; site < 2; ++site)
    for (int i = 0; i < 3; ++i) {
      auto s = test::make_fixture_subject(kDims, 4, 6.0, 3 * site + i);
      std::vector<std::string> names = test::old_names();
      if (site == 1 && i == 2) names[3] = "";
      test::write_fixture_subject(dir, "Brats18_" + std::string(site ? "south" : "north") + "_" + std::to_string(i) + "_1",
                                  s, names);
    }
  std::ofstream(dir / "name_mapping.csv")
      << "BraTS_2018_subject_ID,BraTS_2020_subject_ID\n";  // the ids are the 2018 ids themselves
  std::ofstream(dir / "name_mapping.csv", std::ios::app)
      << "Brats18_north_0_1,NA\nBrats18_north_1_1,NA\nBrats18_north_2_1,NA\n"
         "Brats18_south_0_1,NA\nBrats18_south_1_1,NA\nBrats18_south_2_1,NA\n";
  return scan_brats(dir.string());
}

std::vector<char> bytes(const std::string& p) { return test::read_bytes(p); }

}  // namespace

TEST_CASE("prepare: percentile normalization clips inside the brain to [-1, 1] with background -1") {
  Volume v = make_volume({100, 1, 2});
  std::vector<uint8_t> brain(200, 0);
  for (int i = 0; i < 100; ++i) {
    v.voxels[i] = static_cast<float>(i);  // brain: 0..99, an outlier at 99 is clipped away
    brain[i] = 1;
    v.voxels[100 + i] = 1000.0f;  // outside the brain, whatever its value
  }
  v.voxels[99] = 1e6f;
  normalize_percentile(v, brain, 1.0, 98.0);  // numpy-style: 0.99 and 97.02
  for (int i = 0; i < 100; ++i) {
    CHECK(v.voxels[i] >= -1.0f);
    CHECK(v.voxels[i] <= 1.0f);
    CHECK(v.voxels[100 + i] == -1.0f);
  }
  CHECK(v.voxels[0] == -1.0f);
  CHECK(v.voxels[99] == 1.0f);
  CHECK(v.voxels[49] == doctest::Approx(2 * (49 - 0.99) / (97.02 - 0.99) - 1).epsilon(1e-4));
  CHECK(v.voxels[98] == 1.0f);
  CHECK(v.voxels[10] < v.voxels[11]);

  Volume flat = make_volume({4, 4, 4}, {1, 1, 1}, 7.0f);
  std::vector<uint8_t> all(64, 1);
  normalize_percentile(flat, all);
  CHECK(std::all_of(flat.voxels.begin(), flat.voxels.end(), [](float x) { return x == -1.0f; }));
}

TEST_CASE("prepare: percentiles match a sorted reference, with ties and heavy tails") {
  Volume v = make_volume({101, 37, 3});
  std::vector<uint8_t> brain(v.voxels.size());
  uint32_t state = 12345;
  for (size_t i = 0; i < v.voxels.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    const float u = static_cast<float>(state >> 8) / 16777216.0f;
    v.voxels[i] = i % 5 == 0 ? 300.0f : u * u * u * 1000.0f;  // a fifth tied at one value, a skewed rest
    brain[i] = (state >> 3) % 4 != 0;
  }
  std::vector<float> inside;
  for (size_t i = 0; i < brain.size(); ++i)
    if (brain[i]) inside.push_back(v.voxels[i]);
  std::sort(inside.begin(), inside.end());
  auto ref = [&](double p) {
    const double pos = p / 100.0 * (inside.size() - 1);
    const size_t k = static_cast<size_t>(pos);
    return inside[k] + (pos - k) * (inside[std::min(k + 1, inside.size() - 1)] - inside[k]);
  };
  const double lo = ref(0.5), hi = ref(99.5);
  const Volume orig = v;
  normalize_percentile(v, brain);
  for (size_t i = 0; i < brain.size(); ++i) {
    if (!brain[i]) continue;
    const double want = 2 * (std::clamp<double>(orig.voxels[i], lo, hi) - lo) / (hi - lo) - 1;
    REQUIRE(v.voxels[i] == doctest::Approx(want).epsilon(1e-5));
  }
}

TEST_CASE("prepare: z-score normalization has mean 0 and std 1 inside the brain, 0 outside") {
  Volume v = make_volume({10, 10, 1});
  std::vector<uint8_t> brain(100, 0);
  for (int i = 0; i < 100; ++i) {
    v.voxels[i] = static_cast<float>(i * i % 37);
    brain[i] = i % 3 != 0;
  }
  normalize_zscore(v, brain);
  double sum = 0, sq = 0;
  int n = 0;
  for (int i = 0; i < 100; ++i) {
    if (!brain[i]) {
      CHECK(v.voxels[i] == 0.0f);
      continue;
    }
    sum += v.voxels[i];
    sq += v.voxels[i] * v.voxels[i];
    ++n;
  }
  CHECK(sum / n == doctest::Approx(0.0).epsilon(1e-5));
  CHECK(sq / n == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("prepare: labels map to the internal convention, a value outside the set names the file and value") {
  Volume l = make_volume({4, 1, 1});
  l.voxels = {0, 1, 2, 4};
  CHECK(map_labels(l, brats_labels(2021), "x.nii") == std::vector<uint8_t>{0, 1, 2, 3});
  l.voxels = {0, 1, 2, 3};
  CHECK(map_labels(l, brats_labels(2023), "x.nii") == std::vector<uint8_t>{0, 1, 2, 3});
  CHECK_THROWS_WITH_AS(map_labels(l, brats_labels(2021), "seg.nii.gz"),
                       doctest::Contains("seg.nii.gz: label value 3 at voxel 3 is not in the label set {0,1,2,4}"), FormatError);
  l.voxels = {0, 1.5f, 0, 0};
  CHECK_THROWS_WITH_AS(map_labels(l, brats_labels(2021), "seg.nii"), doctest::Contains("label value 1.5"), FormatError);
}

TEST_CASE("prepare: slice selection keeps slices with >= T tumor voxels plus a seeded share of tumor-free brain slices") {
  const std::array<int64_t, 3> d{4, 4, 20};
  std::vector<uint8_t> lab(320, 0), brain(320, 0);
  for (int z = 2; z < 18; ++z)
    for (int i = 0; i < 16; ++i) brain[z * 16 + i] = 1;
  for (int i = 0; i < 5; ++i) lab[5 * 16 + i] = 2;   // 5 tumor voxels
  for (int i = 0; i < 12; ++i) lab[9 * 16 + i] = 1;  // 12
  lab[12 * 16] = 3;                                    // 1: neither tumor slice nor tumor-free
  CHECK(select_slices(lab, brain, d, 10, 0.0, 1, "s") == std::vector<int>{9});
  CHECK(select_slices(lab, brain, d, 5, 0.0, 1, "s") == std::vector<int>{5, 9});
  // 13 tumor-free brain slices (2..17 minus 5, 9, 12): share 0.5 keeps round(6.5) = 7 of them.
  auto a = select_slices(lab, brain, d, 10, 0.5, 1, "s");
  CHECK(a.size() == 8);
  CHECK(std::is_sorted(a.begin(), a.end()));
  for (int z : a) CHECK((z == 9 || (z >= 2 && z < 18 && z != 5 && z != 12)));
  CHECK(select_slices(lab, brain, d, 10, 0.5, 1, "s") == a);  // deterministic
  bool differs = false;
  for (uint64_t seed = 2; seed < 8 && !differs; ++seed) differs = select_slices(lab, brain, d, 10, 0.5, seed, "s") != a;
  CHECK(differs);
  CHECK(select_slices(lab, brain, d, 10, 1.0, 1, "s").size() == 14);
  CHECK_THROWS_AS(select_slices(lab, brain, d, 0, 0.1, 1, "s"), ValueError);
}

TEST_CASE("prepare: 240 -> 256 pads 8 on each side, larger sources are center-cropped") {
  std::vector<float> src(240 * 240);
  for (int i = 0; i < 240 * 240; ++i) src[i] = static_cast<float>(i % 240 + 1);
  std::vector<float> dst(256 * 256);
  pad_crop(src.data(), 240, 240, dst.data(), 256, 256, -1.0f);
  CHECK(dst[0] == -1.0f);
  CHECK(dst[8 * 256 + 7] == -1.0f);
  CHECK(dst[8 * 256 + 8] == 1.0f);       // source (0, 0)
  CHECK(dst[247 * 256 + 247] == 240.0f); // source (239, 239)
  CHECK(dst[247 * 256 + 248] == -1.0f);
  CHECK(dst[248 * 256 + 100] == -1.0f);
  std::vector<uint8_t> l(6 * 6), c(4 * 4);
  for (int i = 0; i < 36; ++i) l[i] = static_cast<uint8_t>(i);
  pad_crop(l.data(), 6, 6, c.data(), 4, 4, uint8_t{0});
  CHECK(c[0] == 7);  // source (1, 1)
  CHECK(c[15] == 28);  // source (4, 4)
}

TEST_CASE("prepare: resize is nearest-neighbour for labels and bilinear for images") {
  std::vector<uint8_t> l(8 * 8);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) l[y * 8 + x] = static_cast<uint8_t>((x < 4 ? 1 : 3) + (y < 4 ? 0 : 1));
  std::vector<uint8_t> small(3 * 5);
  resize_nearest(l.data(), 8, 8, small.data(), 3, 5);
  std::set<int> values(small.begin(), small.end());
  for (int v : values) CHECK((v == 1 || v == 2 || v == 3 || v == 4));  // no blended label values
  CHECK(small[0] == 1);
  CHECK(small[14] == 4);
  std::vector<float> ramp(8 * 8), half(4 * 4);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) ramp[y * 8 + x] = static_cast<float>(x);
  resize_bilinear(ramp.data(), 8, 8, half.data(), 4, 4);
  for (int x = 0; x < 4; ++x) CHECK(half[x] == doctest::Approx(2 * x + 0.5));  // half-pixel centers
  std::vector<float> up(16 * 16);
  resize_bilinear(ramp.data(), 8, 8, up.data(), 16, 16);
  CHECK(up[0] == 0.0f);
  CHECK(up[15] == 7.0f);
}

TEST_CASE("prepare: onehot condition has one class per pixel plus the brain, asyndgan merges tumor and outline") {
  const int h = 7, w = 7;
  std::vector<uint8_t> lab(h * w, 0), brain(h * w, 0);
  for (int y = 1; y < 6; ++y)
    for (int x = 1; x < 6; ++x) brain[y * w + x] = 1;
  brain[3 * w + 3] = 0;  // a hole: filled for the outline
  lab[2 * w + 2] = 1;
  lab[2 * w + 3] = 2;
  lab[4 * w + 4] = 3;
  std::vector<float> c(5 * h * w);
  onehot_condition(lab.data(), brain.data(), h, w, 4, c.data());
  for (int i = 0; i < h * w; ++i) {
    float sum = 0;
    for (int k = 0; k < 4; ++k) {
      CHECK((c[k * h * w + i] == 0.0f || c[k * h * w + i] == 1.0f));
      sum += c[k * h * w + i];
    }
    CHECK(sum == 1.0f);
    CHECK(c[lab[i] * h * w + i] == 1.0f);
    CHECK(c[4 * h * w + i] == static_cast<float>(brain[i]));
  }
  std::vector<float> a(h * w);
  asyndgan_condition(lab.data(), brain.data(), h, w, 4, a.data());
  CHECK(a[2 * w + 2] == 0.25f);
  CHECK(a[2 * w + 3] == 0.5f);
  CHECK(a[4 * w + 4] == 0.75f);
  CHECK(a[0 * w + 3] == 1.0f);  // just outside the brain: the outline
  CHECK(a[3 * w + 0] == 1.0f);
  CHECK(a[0] == 0.0f);          // a corner touches the brain only diagonally
  CHECK(a[3 * w + 3] == 0.0f);  // the hole is inside the filled brain, not an outline
  CHECK(a[3 * w + 1] == 0.0f);  // brain
  CHECK(fill_holes(brain.data(), h, w)[3 * w + 3] == 1);
}

TEST_CASE("prepare: splits are by subject, per site, deterministic, and keep a manifest's splits") {
  Dataset ds;
  for (int i = 0; i < 20; ++i) ds.subjects.push_back(Subject{"s" + std::to_string(i), i < 10 ? "a" : "b", "", "", {}});
  ds.subjects[3].split = "test";
  PrepareOptions opt;
  opt.seed = 5;
  auto sp = assign_splits(ds, opt);
  CHECK(sp.size() == 20);
  CHECK(sp.at("s3") == Split::test);
  std::map<std::string, std::array<int, 3>> count;
  for (const auto& s : ds.subjects) count[s.site][static_cast<int>(sp.at(s.id))]++;
  CHECK(count["b"] == std::array<int, 3>{8, 1, 1});
  CHECK(count["a"][0] == 7);  // 9 open subjects: round(7.2) train, round(8.1) - 7 = 1 val, 1 test, plus s3
  CHECK(assign_splits(ds, opt) == sp);
  opt.seed = 6;
  CHECK(assign_splits(ds, opt) != sp);
  opt.split = {0.5, 0.6, 0.1};
  CHECK_THROWS_AS(opt.validate(), ValueError);
}

TEST_CASE("prepare: a BraTS fixture goes to one shard per site with the invariants held") {
  test::ScratchDir tmp("prep_e2e");
  Dataset ds = write_fixture_dataset(tmp.dir / "brats");
  REQUIRE(ds.sites() == std::vector<std::string>{"north", "south"});
  PrepareOptions opt;
  opt.height = 64;
  opt.width = 56;  // 40 x 48 slices: padded 12 rows and 4 columns on each side
  opt.healthy_share = 0.25;
  opt.seed = 3;
  const auto out = tmp.dir / "out";
  PrepareReport r = prepare_dataset(ds, out.string(), opt);
  CHECK(r.subjects == 6);
  CHECK(r.volumes == 6 * 5 - 1);
  CHECK(r.condition_channels == std::vector<std::string>{"background", "ncr", "ed", "et", "brain"});
  REQUIRE(r.sites.size() == 2);
  CHECK(r.sites[1].split_subjects[0] + r.sites[1].split_subjects[1] + r.sites[1].split_subjects[2] == 3);

  std::map<std::string, std::set<Split>> subject_splits;
  int64_t total = 0;
  for (const auto& site : r.sites) {
    auto shard = Shard::open(site.shard);
    const auto& h = shard->header();
    CHECK(h.site == site.site);
    CHECK(h.height == 64);
    CHECK(h.width == 56);
    CHECK(h.image_channels == std::vector<std::string>{"t1", "t1ce", "t2", "flair"});
    REQUIRE(shard->size() > 0);
    total += shard->size();
    std::vector<float> cond(5 * 64 * 56), img(4 * 64 * 56);
    for (int64_t i = 0; i < shard->size(); ++i) {
      const SampleInfo& info = h.samples[static_cast<size_t>(i)];
      subject_splits[info.subject].insert(info.split);
      shard->read_condition(i, cond.data());
      shard->read_image(i, img.data());
      const bool lacks_t2 = info.subject == "Brats18_south_2_1";
      // The brain channel is the source's brain (any modality > 0) on the padded grid.
      const int variant = (info.subject.find("south") != std::string::npos ? 3 : 0) + (info.subject[info.subject.size() - 3] - '0');
      const auto src = test::make_fixture_subject(kDims, 4, 6.0, variant);
      int64_t brain_mismatch = 0;
      CHECK(info.available == (lacks_t2 ? 0b1011u : 0b1111u));
      const int64_t hw = 64 * 56;
      int64_t tumor = 0;
      for (int64_t p = 0; p < hw; ++p) {
        float sum = 0;
        for (int k = 0; k < 4; ++k) sum += cond[k * hw + p];
        REQUIRE(sum == 1.0f);
        tumor += cond[p] == 0.0f;
        const int64_t y = p / 56, x = p % 56;
        const bool pad = y < 12 || y >= 52 || x < 4 || x >= 52;
        if (pad) REQUIRE(cond[4 * hw + p] == 0.0f);
        else brain_mismatch += (cond[4 * hw + p] == 1.0f) != (src.images[0].at(x - 4, y - 12, info.slice) > 0);
        for (int m = 0; m < 4; ++m) {
          const float v = img[m * hw + p];
          REQUIRE(v >= -1.0f);
          REQUIRE(v <= 1.0f);
          if (m == 2 && lacks_t2) REQUIRE(v == 0.0f);
          else if (pad) REQUIRE(v == -1.0f);
          // brain channel = any source modality > 0 there; outside the brain every image is -1
          if (m != 2 || !lacks_t2)
            if (cond[4 * hw + p] == 0.0f) REQUIRE(v == -1.0f);
        }
      }
      CHECK((tumor == 0 || tumor >= opt.min_tumor));
      CHECK(brain_mismatch == 0);
    }
  }
  CHECK(total == r.samples);
  CHECK(subject_splits.size() == 6);
  for (const auto& [id, splits] : subject_splits) CHECK(splits.size() == 1);

  // prepare.json records options, channels, counts and each subject's split.
  const std::vector<char> prepare_bytes = bytes((out / "prepare.json").string());
  Json j = parse_json(std::string(prepare_bytes.begin(), prepare_bytes.end()), "prepare.json");
  CHECK(j.at("options").at("min_tumor") == 10);
  CHECK(j.at("condition_channels").size() == 5);
  CHECK(j.at("subjects").size() == 6);
  CHECK(j.at("sites")[0].at("shard") == "north.shard");
  for (const auto& s : j.at("subjects"))
    if (s.at("id") == "Brats18_south_2_1") CHECK(s.at("missing_modalities")[0] == "t2");
}

TEST_CASE("prepare: output does not depend on the thread count, asyndgan condition and resize work end to end") {
  test::ScratchDir tmp("prep_threads");
  Dataset ds = write_fixture_dataset(tmp.dir / "brats");
  PrepareOptions opt;
  opt.height = 32;
  opt.width = 32;
  opt.resize = true;
  opt.condition = ConditionKind::asyndgan;
  opt.healthy_share = 0.2;
#ifdef _OPENMP
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  prepare_dataset(ds, (tmp.dir / "one").string(), opt);
#ifdef _OPENMP
  omp_set_num_threads(3);
#endif
  PrepareReport r = prepare_dataset(ds, (tmp.dir / "three").string(), opt);
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
  for (const char* f : {"north.shard", "south.shard", "prepare.json"})
    CHECK(bytes((tmp.dir / "one" / f).string()) == bytes((tmp.dir / "three" / f).string()));
  CHECK(r.condition_channels == std::vector<std::string>{"labels_outline"});
  auto shard = Shard::open((tmp.dir / "three" / "north.shard").string());
  std::vector<float> cond(32 * 32);
  std::set<float> seen;
  for (int64_t i = 0; i < shard->size(); ++i) {
    shard->read_condition(i, cond.data());
    seen.insert(cond.begin(), cond.end());
  }
  for (float v : seen) CHECK((v == 0.0f || std::fabs(v - 0.25f) < 3e-3f || std::fabs(v - 0.5f) < 3e-3f ||
                              std::fabs(v - 0.75f) < 3e-3f || v == 1.0f));
  CHECK(seen.count(1.0f) == 1);
}

TEST_CASE("prepare: volumes of different dims and labels outside the set are errors naming the files") {
  test::ScratchDir tmp("prep_err");
  auto s = test::make_fixture_subject({16, 16, 8}, 4, 3.0);
  test::write_fixture_subject(tmp.dir, "Brats18_A_1_1", s, test::old_names());
  write_nifti((tmp.dir / "Brats18_A_1_1" / "Brats18_A_1_1_t2.nii").string(), make_volume({16, 16, 9}, {1, 1, 1}, 1.0f));
  Dataset ds = scan_brats(tmp.dir.string());
  PrepareOptions opt;
  opt.height = opt.width = 16;
  CHECK_THROWS_WITH_AS(prepare_dataset(ds, (tmp.dir / "out").string(), opt),
                       doctest::Contains("Brats18_A_1_1_t2.nii is 16x16x9 but its label"), ShapeError);
  write_nifti((tmp.dir / "Brats18_A_1_1" / "Brats18_A_1_1_t2.nii").string(), s.images[2]);
  s.label.at(8, 8, 4) = 5;
  write_nifti((tmp.dir / "Brats18_A_1_1" / "Brats18_A_1_1_seg.nii").string(), s.label);
  CHECK_THROWS_WITH_AS(prepare_dataset(ds, (tmp.dir / "out").string(), opt),
                       doctest::Contains("Brats18_A_1_1_seg.nii: label value 5"), FormatError);
}

TEST_CASE("prepare: the CLI prepares a manifest and rejects bad options") {
  test::ScratchDir tmp("prep_cli");
  auto s = test::make_fixture_subject({24, 24, 12}, 4, 4.0);
  write_nifti(tmp.file("a_t1.nii"), s.images[0]);
  write_nifti(tmp.file("a_seg.nii"), s.label);
  write_nifti(tmp.file("b_t1.nii"), s.images[0]);
  write_nifti(tmp.file("b_seg.nii"), s.label);
  std::ofstream(tmp.file("m.csv")) << "subject,site,label,t1\na,h1,a_seg.nii,a_t1.nii\nb,h2,b_seg.nii,b_t1.nii\n";
  const test::CliResult run = test::run_cli("prepare --manifest " + tmp.file("m.csv") + " --label-values 0,1,2,4 --out " +
                                                tmp.file("out") + " --size 32,32 --min-tumor 3", tmp.file("log.txt"));
  const std::string& out = run.output;
  CHECK(run.code == 0);
  CHECK(out.find("volumes/s") != std::string::npos);
  CHECK(out.find("site h1") != std::string::npos);
  CHECK(fs::exists(tmp.dir / "out" / "h2.shard"));
  CHECK(Shard::open(tmp.file("out/h1.shard"))->header().image_channels == std::vector<std::string>{"t1"});
  const test::CliResult bad_norm =
      test::run_cli("prepare --manifest " + tmp.file("m.csv") + " --out " + tmp.file("o2") + " --norm minmax", tmp.file("log.txt"));
  CHECK(bad_norm.code != 0);
  for (const char* part : {"--norm", "minmax", "percentile", "zscore"}) CHECK_MESSAGE(bad_norm.output.find(part) != std::string::npos, part);
  CHECK(test::run_cli("prepare --out x --brats a --manifest b", tmp.file("log.txt")).code != 0);
}
