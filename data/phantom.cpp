// The phantom's subjects and its BraTS 2020-layout directory (subject folders and name_mapping.csv).
#include "data/phantom.h"
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include "data/nifti.h"
#include "base/error.h"
#include "engine/io/file_io.h"

namespace asyndgan::data {

const std::vector<std::string>& phantom_modalities() {
  static const std::vector<std::string> names{"t1", "t1ce", "t2", "flair"};
  return names;
}

std::string phantom_site_name(int site) {
  if (site < 0) throw ValueError(msg("phantom_site_name: site index ", site, " is negative"));
  // Bijective base 26 (A..Z, AA, AB, ...): letters only, no '_', so the name is one token of a BraTS id.
  std::string letters;
  for (int k = site + 1; k > 0; k = (k - 1) / 26) letters.insert(letters.begin(), static_cast<char>('A' + (k - 1) % 26));
  return "Site" + letters;
}

std::string phantom_subject_id(const PhantomOptions& opt, int site, int subject) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "BraTS20_Training_%03d", site * opt.subjects_per_site + subject + 1);
  return buf;
}

void validate_phantom_options(const PhantomOptions& opt) {
  if (opt.sites <= 0) throw ValueError(msg("phantom: the number of sites must be positive, got ", opt.sites));
  if (opt.subjects_per_site <= 0)
    throw ValueError(msg("phantom: the number of subjects per site must be positive, got ", opt.subjects_per_site));
  for (int64_t d : opt.size)
    if (d < 16)
      throw ValueError(msg("phantom: size ", opt.size[0], "x", opt.size[1], "x", opt.size[2],
                           " is too small: the anatomy needs at least 16 voxels along each axis"));
  const auto& mods = phantom_modalities();
  for (const auto& [site, lacks] : opt.missing) {
    bool known = false;
    for (int s = 0; s < opt.sites && !known; ++s) known = phantom_site_name(s) == site;
    if (!known)
      throw ValueError(msg("phantom: missing modalities name site '", site, "', but the sites are SiteA..",
                           phantom_site_name(opt.sites - 1)));
    for (const auto& m : lacks)
      if (std::find(mods.begin(), mods.end(), m) == mods.end())
        throw ValueError(msg("phantom: unknown modality '", m, "' for site ", site, " (known: t1, t1ce, t2, flair)"));
    if (lacks.size() >= mods.size()) throw ValueError(msg("phantom: site ", site, " would have no modality left"));
  }
}

PhantomSubject generate_phantom_subject(const PhantomOptions& opt, int site, int subject) {
  validate_phantom_options(opt);
  if (site < 0 || site >= opt.sites || subject < 0 || subject >= opt.subjects_per_site)
    throw ValueError(msg("phantom: subject ", subject, " of site ", site, " is outside ", opt.sites, " sites x ",
                         opt.subjects_per_site, " subjects"));
  PhantomSubject out;
  out.id = phantom_subject_id(opt, site, subject);
  out.site = phantom_site_name(site);
  out.tissue = phantom_tissue(opt, site, subject);
  out.label = make_volume(opt.size);
  out.label.affine = brats_affine();
  for (size_t i = 0; i < out.tissue.size(); ++i)
    out.label.voxels[i] = static_cast<float>(phantom_label(static_cast<Tissue>(out.tissue[i])));
  auto lacking = opt.missing.find(out.site);
  const auto& mods = phantom_modalities();
  for (int m = 0; m < static_cast<int>(mods.size()); ++m) {
    if (lacking != opt.missing.end() && lacking->second.count(mods[m])) continue;
    Volume img = phantom_image(opt, site, subject, m, out.tissue);
    if (opt.skull_strip) {
      for (size_t i = 0; i < out.tissue.size(); ++i) {
        const auto t = static_cast<Tissue>(out.tissue[i]);
        if (t == Tissue::background || t == Tissue::scalp || t == Tissue::skull) img.voxels[i] = 0.0f;
      }
    }
    out.images.emplace(mods[m], std::move(img));
  }
  return out;
}

namespace {

// Three letters per subject, like the real ids' AAB or ABC.
std::string subject_code(int subject) {
  std::string c = "AAA";
  for (int k = 2; k >= 0; --k, subject /= 26) c[k] = static_cast<char>('A' + subject % 26);
  return c;
}

}  // namespace

void write_phantom(const std::string& dir, const PhantomOptions& opt) {
  validate_phantom_options(opt);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IOError(msg(dir, ": cannot create the phantom directory: ", ec.message()));

  // name_mapping.csv as BraTS 2020 ships it; the site is the second '_' token of the BraTS 2018 id
  // (Brats18_SiteA_AAA_1, like the real Brats18_CBICA_AAB_1), which is where dataset scanners look for it.
  std::string csv =
      "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,TCGA_TCIA_subject_ID,BraTS_2019_subject_ID,"
      "BraTS_2020_subject_ID\n";
  // Subjects are independent and their writes are mostly serial gzip: one subject per thread. Rows of the
  // CSV are kept per subject so the file is the same whatever the thread count.
  const int total = opt.sites * opt.subjects_per_site;
  std::vector<std::string> rows(static_cast<size_t>(total));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(total));
#pragma omp parallel for schedule(dynamic, 1)
  for (int k = 0; k < total; ++k) {
    try {
      const int site = k / opt.subjects_per_site, subject = k % opt.subjects_per_site;
      PhantomSubject s = generate_phantom_subject(opt, site, subject);
      const std::string sub_dir = dir + "/" + s.id;
      std::error_code dir_ec;
      fs::create_directories(sub_dir, dir_ec);
      if (dir_ec) throw IOError(msg(sub_dir, ": cannot create the subject directory: ", dir_ec.message()));
      for (const auto& [mod, vol] : s.images)
        write_nifti(sub_dir + "/" + s.id + "_" + mod + ".nii.gz", vol, {.dtype = NiftiDType::i16});
      write_nifti(sub_dir + "/" + s.id + "_seg.nii.gz", s.label, {.dtype = NiftiDType::u8});
      const std::string code = phantom_site_name(site) + "_" + subject_code(subject) + "_1";
      rows[static_cast<size_t>(k)] = "HGG,Brats17_" + code + ",Brats18_" + code + ",NA,BraTS19_" + code + "," + s.id + "\n";
    } catch (...) {
      errors[static_cast<size_t>(k)] = std::current_exception();
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  for (const auto& r : rows) csv += r;
  write_text_file(dir + "/name_mapping.csv", csv);
}

}  // namespace asyndgan::data
