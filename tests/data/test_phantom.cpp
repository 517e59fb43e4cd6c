// Tests of the multi-site phantom: determinism, labels and tumor placement, tissue contrasts per modality,
// per-site scanner effects, missing modalities, and the `asyndgan phantom` command's output and errors.
#include <doctest/doctest.h>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include "data/nifti.h"
#include "data/phantom.h"
#include "base/error.h"
#include "engine/file_test_util.h"
#include "data/cli_util.h"
#ifdef _OPENMP
#include <omp.h>
#endif

using namespace asyndgan;
using namespace asyndgan::data;

namespace {

PhantomOptions small_options(uint64_t seed = 11) {
  PhantomOptions o;
  o.sites = 3;
  o.subjects_per_site = 2;
  o.size = {48, 48, 32};
  o.seed = seed;
  return o;
}

Tissue tissue_at(const std::vector<uint8_t>& t, int64_t i) { return static_cast<Tissue>(t[static_cast<size_t>(i)]); }

// Voxels whose neighbours within `r` (a cube) all share their tissue: away from partial-volume edges.
std::vector<uint8_t> eroded(const std::vector<uint8_t>& t, const std::array<int64_t, 3>& n, int r) {
  std::vector<uint8_t> keep(t.size(), 0);
  for (int64_t z = r; z < n[2] - r; ++z)
    for (int64_t y = r; y < n[1] - r; ++y)
      for (int64_t x = r; x < n[0] - r; ++x) {
        const uint8_t c = t[static_cast<size_t>(x + n[0] * (y + n[1] * z))];
        bool same = true;
        for (int dz = -r; dz <= r && same; ++dz)
          for (int dy = -r; dy <= r && same; ++dy)
            for (int dx = -r; dx <= r && same; ++dx)
              same = t[static_cast<size_t>((x + dx) + n[0] * ((y + dy) + n[1] * (z + dz)))] == c;
        keep[static_cast<size_t>(x + n[0] * (y + n[1] * z))] = same;
      }
  return keep;
}

// Mean intensity per tissue class over the kept voxels; count in `counts`.
std::array<double, kTissueCount> class_means(const Volume& img, const std::vector<uint8_t>& t,
                                             const std::vector<uint8_t>& keep, std::array<int64_t, kTissueCount>& counts) {
  std::array<double, kTissueCount> sum{};
  counts = {};
  for (size_t i = 0; i < t.size(); ++i)
    if (keep[i]) {
      sum[t[i]] += img.voxels[i];
      ++counts[t[i]];
    }
  for (int c = 0; c < kTissueCount; ++c) sum[c] = counts[c] ? sum[c] / counts[c] : 0.0;
  return sum;
}

double mean_of(const std::array<double, kTissueCount>& m, Tissue t) { return m[static_cast<int>(t)]; }

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `asyndgan phantom` with `args`; returns the exit code and output.
test::CliResult run_phantom_cli(const std::string& args, const std::string& log) { return test::run_cli("phantom " + args, log); }

}  // namespace

TEST_CASE("phantom: the same seed gives the same voxels, at any thread count, other seeds differ") {
  const PhantomOptions opt = small_options();
  PhantomSubject a = generate_phantom_subject(opt, 1, 1), b = generate_phantom_subject(opt, 1, 1);
  CHECK(a.id == "BraTS20_Training_004");
  CHECK(a.site == "SiteB");
  CHECK(a.tissue == b.tissue);
  CHECK(a.label.voxels == b.label.voxels);
  REQUIRE(a.images.size() == 4);
  for (const auto& [m, v] : a.images) CHECK(v.voxels == b.images.at(m).voxels);
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  PhantomSubject one = generate_phantom_subject(opt, 1, 1);
  omp_set_num_threads(3);
  PhantomSubject three = generate_phantom_subject(opt, 1, 1);
  omp_set_num_threads(threads);
  CHECK(one.tissue == a.tissue);
  CHECK(three.tissue == a.tissue);
  for (const auto& [m, v] : a.images) {
    CHECK(one.images.at(m).voxels == v.voxels);
    CHECK(three.images.at(m).voxels == v.voxels);
  }
#endif
  PhantomSubject other_seed = generate_phantom_subject(small_options(12), 1, 1);
  CHECK(other_seed.tissue != a.tissue);
  for (const auto& [m, v] : a.images) CHECK(other_seed.images.at(m).voxels != v.voxels);
  CHECK(generate_phantom_subject(opt, 1, 0).tissue != a.tissue);  // subjects differ within a site
  CHECK(generate_phantom_subject(opt, 2, 1).tissue != a.tissue);  // and across sites
}

TEST_CASE("phantom: labels are 0/1/2/4, every tumor class is present and the tumor lies inside the brain") {
  const PhantomOptions opt = small_options();
  const auto& n = opt.size;
  for (int site = 0; site < opt.sites; ++site)
    for (int subject = 0; subject < opt.subjects_per_site; ++subject) {
      CAPTURE(site);
      CAPTURE(subject);
      PhantomSubject s = generate_phantom_subject(opt, site, subject);
      CHECK(s.label.dims == n);
      CHECK(s.label.affine == brats_affine());
      std::array<int64_t, 5> count{};
      bool values_ok = true, matches_tissue = true, inside = true;
      for (int64_t z = 0; z < n[2]; ++z)
        for (int64_t y = 0; y < n[1]; ++y)
          for (int64_t x = 0; x < n[0]; ++x) {
            const int64_t i = s.label.index(x, y, z);
            const float l = s.label.voxels[static_cast<size_t>(i)];
            values_ok &= l == 0 || l == 1 || l == 2 || l == 4;
            matches_tissue &= static_cast<int>(l) == phantom_label(tissue_at(s.tissue, i));
            if (l < 0 || l > 4) continue;
            ++count[static_cast<size_t>(l)];
            if (l == 0) continue;
            // No tumor voxel touches the outside of the brain (background, scalp or skull).
            const int64_t nb[6][3] = {{x - 1, y, z}, {x + 1, y, z}, {x, y - 1, z}, {x, y + 1, z}, {x, y, z - 1}, {x, y, z + 1}};
            for (const auto& p : nb) {
              if (p[0] < 0 || p[1] < 0 || p[2] < 0 || p[0] >= n[0] || p[1] >= n[1] || p[2] >= n[2]) {
                inside = false;
                continue;
              }
              Tissue t = tissue_at(s.tissue, s.label.index(p[0], p[1], p[2]));
              inside &= t != Tissue::background && t != Tissue::scalp && t != Tissue::skull;
            }
          }
      CHECK(values_ok);
      CHECK(matches_tissue);
      CHECK(inside);
      CHECK(count[1] > 0);
      CHECK(count[2] > 0);
      CHECK(count[4] > 0);
      CHECK(count[3] == 0);
      // Skull-stripped as BraTS: background, scalp and skull exactly 0 and the brain > 0 in every modality, so
      // "any modality > 0" is the brain mask.
      for (const auto& [m, img] : s.images) {
        bool zero_out = true, positive_in = true, integral = true;
        for (size_t i = 0; i < s.tissue.size(); ++i) {
          const float v = img.voxels[i];
          const auto t = static_cast<Tissue>(s.tissue[i]);
          if (t == Tissue::background || t == Tissue::scalp || t == Tissue::skull) zero_out &= v == 0.0f;
          else positive_in &= v >= 1.0f;
          integral &= v == std::round(v);
        }
        CAPTURE(m);
        CHECK(zero_out);
        CHECK(positive_in);
        CHECK(integral);
        CHECK(img.affine == brats_affine());
      }
    }
}

TEST_CASE("phantom: each modality orders the tissues as real MRI does, and T1ce lights up the enhancing rim") {
  PhantomOptions opt = small_options(5);
  opt.size = {96, 96, 64};
  for (int site = 0; site < opt.sites; ++site) {
    CAPTURE(site);
    PhantomSubject s = generate_phantom_subject(opt, site, 0);
    const std::vector<uint8_t> core = eroded(s.tissue, opt.size, 1);
    std::array<int64_t, kTissueCount> counts{};
    auto t1 = class_means(s.images.at("t1"), s.tissue, core, counts);
    for (Tissue t : {Tissue::csf, Tissue::grey, Tissue::white, Tissue::edema}) {
      CAPTURE(static_cast<int>(t));
      CHECK(counts[static_cast<int>(t)] >= 20);
    }
    auto t1ce = class_means(s.images.at("t1ce"), s.tissue, core, counts);
    auto t2 = class_means(s.images.at("t2"), s.tissue, core, counts);
    auto flair = class_means(s.images.at("flair"), s.tissue, core, counts);
    // T1: white > grey > CSF, the necrotic core dark.
    CHECK(mean_of(t1, Tissue::white) > mean_of(t1, Tissue::grey));
    CHECK(mean_of(t1, Tissue::grey) > mean_of(t1, Tissue::csf));
    // T2: fluid brightest, white darker than grey, edema bright.
    CHECK(mean_of(t2, Tissue::csf) > mean_of(t2, Tissue::grey));
    CHECK(mean_of(t2, Tissue::grey) > mean_of(t2, Tissue::white));
    CHECK(mean_of(t2, Tissue::edema) > mean_of(t2, Tissue::grey));
    // FLAIR: fluid dark, edema brightest, white darker than grey.
    CHECK(mean_of(flair, Tissue::edema) > mean_of(flair, Tissue::grey));
    CHECK(mean_of(flair, Tissue::grey) > mean_of(flair, Tissue::white));
    CHECK(mean_of(flair, Tissue::white) > mean_of(flair, Tissue::csf));
    // The enhancing rim and the core: measured on all their voxels (the rim is thin), relative to white matter.
    const std::vector<uint8_t> all(s.tissue.size(), 1);
    auto t1_all = class_means(s.images.at("t1"), s.tissue, all, counts);
    auto t1ce_all = class_means(s.images.at("t1ce"), s.tissue, all, counts);
    REQUIRE(counts[static_cast<int>(Tissue::enhancing)] > 0);
    const double rim_t1 = mean_of(t1_all, Tissue::enhancing) / mean_of(t1_all, Tissue::white);
    const double rim_t1ce = mean_of(t1ce_all, Tissue::enhancing) / mean_of(t1ce_all, Tissue::white);
    CHECK(rim_t1ce > 1.2 * rim_t1);
    CHECK(rim_t1ce > 1.0);  // brighter than white matter
    CHECK(mean_of(t1_all, Tissue::necrosis) < mean_of(t1_all, Tissue::grey));  // hypointense core
    CHECK(mean_of(t1ce, Tissue::white) > mean_of(t1ce, Tissue::csf));
  }
}

TEST_CASE("phantom: scanner effects differ between sites and stay fixed within a site") {
  PhantomOptions opt = small_options(3);
  opt.size = {112, 112, 72};
  // A seed whose first two sites' noise levels differ clearly, so the measurement can tell them apart.
  auto noise_ratio = [&] {
    const PhantomScanner p = phantom_scanner(opt, 0), q = phantom_scanner(opt, 1);
    const double r = (p.gamma * p.noise_sigma) / (q.gamma * q.noise_sigma);
    return std::max(r, 1 / r);
  };
  while (noise_ratio() < 1.5 && opt.seed < 40) ++opt.seed;
  REQUIRE(noise_ratio() >= 1.5);
  const PhantomScanner s0 = phantom_scanner(opt, 0), s1 = phantom_scanner(opt, 1);
  CHECK(s0.noise_sigma != s1.noise_sigma);
  CHECK(s0.gamma != s1.gamma);
  CHECK(s0.bias_amplitude != s1.bias_amplitude);
  CHECK(s0.gain != s1.gain);

  // One anatomy through both scanners (and through site 0 for another subject: a new noise draw only).
  const std::vector<uint8_t> tissue = phantom_tissue(opt, 0, 0);
  const Volume a = phantom_image(opt, 0, 0, 0, tissue), a2 = phantom_image(opt, 0, 1, 0, tissue);
  const Volume b = phantom_image(opt, 1, 0, 0, tissue);
  CHECK(a.voxels != a2.voxels);
  const std::vector<uint8_t> deep = eroded(tissue, opt.size, 2);
  const auto& n = opt.size;
  // Relative noise in deep white matter (neighbour differences cancel the smooth bias), and the bias
  // profile: mean white matter per x-slab relative to all white matter.
  auto measure = [&](const Volume& v, double& rel_noise, std::array<double, 6>& profile) {
    double dsum = 0, vsum = 0;
    int64_t pairs = 0;
    std::array<double, 6> slab{};
    std::array<int64_t, 6> slab_n{};
    for (int64_t z = 0; z < n[2]; ++z)
      for (int64_t y = 0; y < n[1]; ++y)
        for (int64_t x = 0; x + 1 < n[0]; ++x) {
          const int64_t i = v.index(x, y, z);
          if (!deep[static_cast<size_t>(i)] || tissue_at(tissue, i) != Tissue::white) continue;
          const int k = static_cast<int>(x * 6 / n[0]);
          slab[k] += v.voxels[static_cast<size_t>(i)];
          ++slab_n[k];
          if (!deep[static_cast<size_t>(i + 1)]) continue;
          const double d = v.voxels[static_cast<size_t>(i + 1)] - v.voxels[static_cast<size_t>(i)];
          dsum += d * d;
          vsum += v.voxels[static_cast<size_t>(i)];
          ++pairs;
        }
    REQUIRE(pairs > 1000);
    rel_noise = std::sqrt(dsum / pairs / 2) / (vsum / pairs);
    double all = 0;
    int64_t all_n = 0;
    for (int k = 0; k < 6; ++k) {
      all += slab[k];
      all_n += slab_n[k];
    }
    for (int k = 0; k < 6; ++k) profile[k] = slab_n[k] > 50 ? slab[k] / slab_n[k] / (all / all_n) : 1.0;
  };
  double na, na2, nb;
  std::array<double, 6> pa, pa2, pb;
  measure(a, na, pa);
  measure(a2, na2, pa2);
  measure(b, nb, pb);
  // Noise: gamma scales relative noise, so the measured ratio follows gamma * sigma.
  const double predicted = (s0.gamma * s0.noise_sigma) / (s1.gamma * s1.noise_sigma);
  CAPTURE(predicted);
  CHECK(na / nb == doctest::Approx(predicted).epsilon(0.2));
  CHECK(na2 / na == doctest::Approx(1.0).epsilon(0.1));
  // Bias: the same site's two subjects share the field; the other site's differs.
  double same = 0, across = 0;
  for (int k = 0; k < 6; ++k) {
    same = std::max(same, std::abs(pa[k] - pa2[k]));
    across = std::max(across, std::abs(pa[k] - pb[k]));
  }
  CAPTURE(same);
  CAPTURE(across);
  CHECK(same < 0.01);
  CHECK(across > 3 * same);
  CHECK(across > 0.02);
}

TEST_CASE("phantom: a missing modality is absent for that site only, bad options are refused") {
  PhantomOptions opt = small_options();
  opt.missing = {{"SiteC", {"t2"}}};
  CHECK(generate_phantom_subject(opt, 0, 0).images.size() == 4);
  CHECK(generate_phantom_subject(opt, 1, 1).images.size() == 4);
  PhantomSubject c = generate_phantom_subject(opt, 2, 0);
  CHECK(c.images.size() == 3);
  CHECK(c.images.count("t2") == 0);
  CHECK(c.images.count("flair") == 1);

  CHECK(phantom_site_name(0) == "SiteA");
  CHECK(phantom_site_name(25) == "SiteZ");
  CHECK(phantom_site_name(26) == "SiteAA");
  auto refused = [](PhantomOptions o) {
    return asyndgan::test::error_message<ValueError>([&] { validate_phantom_options(o); });
  };
  PhantomOptions bad = small_options();
  bad.missing = {{"SiteD", {"t2"}}};
  CHECK(refused(bad).find("SiteD") != std::string::npos);
  bad.missing = {{"SiteA", {"t3"}}};
  CHECK(refused(bad).find("t3") != std::string::npos);
  bad.missing = {{"SiteA", {"t1", "t1ce", "t2", "flair"}}};
  CHECK(refused(bad).find("no modality") != std::string::npos);
  bad = small_options();
  bad.size = {48, 8, 32};
  CHECK(refused(bad).find("too small") != std::string::npos);
  bad = small_options();
  bad.sites = 0;
  CHECK(refused(bad).find("sites") != std::string::npos);
}

TEST_CASE("phantom: the default 240x240x155 subject has brain-sized anatomy and a plausible tumor") {
  PhantomOptions opt;  // the default size, as `asyndgan phantom` writes it
  const std::vector<uint8_t> t = phantom_tissue(opt, 0, 0);
  REQUIRE(t.size() == size_t{240} * 240 * 155);
  std::array<int64_t, kTissueCount> c{};
  for (uint8_t v : t) ++c[v];
  auto n = [&](Tissue x) { return c[static_cast<int>(x)]; };
  const int64_t tumor = n(Tissue::necrosis) + n(Tissue::edema) + n(Tissue::enhancing);
  const int64_t brain = n(Tissue::grey) + n(Tissue::white) + tumor;
  CAPTURE(brain);
  CAPTURE(tumor);
  CHECK(brain > 900'000);  // an adult brain is about 1.1-1.5 l (1 mm voxels)
  CHECK(brain < 1'800'000);
  CHECK(tumor > 5'000);    // BraTS whole tumors: roughly 5-300 cm^3
  CHECK(tumor < 300'000);
  CHECK(n(Tissue::grey) > n(Tissue::white) / 2);
  CHECK(n(Tissue::csf) > 50'000);
}

TEST_CASE("phantom: the CLI writes the BraTS tree and name_mapping.csv, and names the option it refuses") {
  asyndgan::test::ScratchDir scratch("phantom_cli");
  const std::string out = scratch.file("ph"), log = scratch.file("log.txt");
  std::filesystem::create_directories(out);  // an existing empty directory is fine
  const test::CliResult run =
      run_phantom_cli("--out " + out + " --sites 3 --subjects-per-site 2 --size 48,48,32 --missing SiteC:t2 --seed 9", log);
  REQUIRE(run.code == 0);
  const std::string printed = run.output;
  CHECK(printed.find("3 sites x 2 subjects") != std::string::npos);
  CHECK(printed.find("missing: t2") != std::string::npos);

  PhantomOptions opt = small_options(9);
  opt.missing = {{"SiteC", {"t2"}}};
  const char* sites[] = {"SiteA", "SiteA", "SiteB", "SiteB", "SiteC", "SiteC"};
  std::string expected_csv =
      "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,TCGA_TCIA_subject_ID,BraTS_2019_subject_ID,"
      "BraTS_2020_subject_ID\n";
  for (int k = 0; k < 6; ++k) {
    char id[32];
    std::snprintf(id, sizeof id, "BraTS20_Training_%03d", k + 1);
    const std::string dir = out + "/" + id;
    CAPTURE(dir);
    for (const char* m : {"t1", "t1ce", "t2", "flair", "seg"}) {
      const bool want = !(k >= 4 && std::string(m) == "t2");
      CHECK(std::filesystem::exists(dir + "/" + id + "_" + m + ".nii.gz") == want);
    }
    const std::string code = std::string(sites[k]) + (k % 2 ? "_AAB_1" : "_AAA_1");
    expected_csv += "HGG,Brats17_" + code + ",Brats18_" + code + ",NA,BraTS19_" + code + "," + id + "\n";
  }
  CHECK(std::distance(std::filesystem::directory_iterator(out), std::filesystem::directory_iterator()) == 7);
  CHECK(read_text(out + "/name_mapping.csv") == expected_csv);

  // What is on disk is what the generator makes in memory.
  PhantomSubject s = generate_phantom_subject(opt, 2, 0);
  NiftiInfo info;
  Volume flair = read_nifti(out + "/BraTS20_Training_005/BraTS20_Training_005_flair.nii.gz", &info);
  CHECK(info.dtype == NiftiDType::i16);
  CHECK(flair.dims == opt.size);
  CHECK(flair.voxels == s.images.at("flair").voxels);
  Volume seg = read_nifti(out + "/BraTS20_Training_005/BraTS20_Training_005_seg.nii.gz", &info);
  CHECK(info.dtype == NiftiDType::u8);
  CHECK(seg.voxels == s.label.voxels);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) CHECK(seg.affine[r][c] == doctest::Approx(brats_affine()[r][c]));

  // Refusals: non-zero exit and a message naming the option.
  const std::string fresh = " --out " + scratch.file("fresh") + " --size 48,48,32";
  const std::pair<std::string, std::string> bad[] = {
      {"--sites 0" + fresh, "--sites"},
      {"--subjects-per-site -2" + fresh, "--subjects-per-site"},
      {"--sites x" + fresh, "--sites"},
      {"--out " + scratch.file("fresh") + " --size 48,48", "--size"},
      {"--out " + scratch.file("fresh") + " --size 48,0,32", "--size"},
      {"--missing SiteD:t2" + fresh, "--missing"},
      {"--missing 3:t2" + fresh, "--missing"},
      {"--missing SiteA:t3" + fresh, "--missing"},
      {"--missing SiteA" + fresh, "--missing"},
      {"--seed -1" + fresh, "--seed"},
      {"--bogus 1" + fresh, "--bogus"},
      {"--sites 2 --size 48,48,32", "--out"},
      {"--out " + out + " --size 48,48,32", "--out"},  // exists and is not empty
  };
  for (const auto& [args, option] : bad) {
    CAPTURE(args);
    const test::CliResult run = run_phantom_cli(args, log);
    CHECK(run.code != 0);
    const std::string text = run.output;
    CAPTURE(text);
    CHECK(text.find(option) != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(scratch.file("fresh")));
}

TEST_CASE("phantom: --keep-skull (skull_strip off) keeps scalp and skull signal in every modality") {
  PhantomOptions opt = small_options(3);
  opt.skull_strip = false;
  PhantomSubject s = generate_phantom_subject(opt, 0, 0);
  for (const auto& [m, img] : s.images) {
    CAPTURE(m);
    int64_t scalp = 0, scalp_positive = 0;
    for (size_t i = 0; i < s.tissue.size(); ++i)
      if (static_cast<Tissue>(s.tissue[i]) == Tissue::scalp) {
        ++scalp;
        scalp_positive += img.voxels[i] >= 1.0f;
      }
    REQUIRE(scalp > 0);
    CHECK(scalp_positive == scalp);
  }
}
