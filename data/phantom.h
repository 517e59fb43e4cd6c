// A synthetic multi-site brain-tumor MRI phantom in the BraTS 2018-2021 layout: head, brain tissues and a
// labelled tumor per subject, four modalities with per-site scanner effects, deterministic for a seed.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>
#include "data/volume.h"

namespace asyndgan::data {

struct PhantomOptions {
  int sites = 3;
  int subjects_per_site = 5;
  std::array<int64_t, 3> size{240, 240, 155};
  std::map<std::string, std::set<std::string>> missing;  // site name (phantom_site_name) -> modalities it lacks
  uint64_t seed = 0;
  // BraTS images are skull-stripped: scalp and skull voxels are written as 0, so "any modality > 0" is the
  // brain mask downstream. Off keeps the whole head.
  bool skull_strip = true;
};

// The tissue of one voxel. Tumor classes replace the tissue they grow in.
enum class Tissue : uint8_t { background = 0, scalp, skull, csf, grey, white, necrosis, edema, enhancing };
constexpr int kTissueCount = 9;

// The phantom's modalities, in BraTS order: t1, t1ce, t2, flair.
const std::vector<std::string>& phantom_modalities();
// "SiteA", "SiteB", ..., "SiteZ", "SiteAA", ...: letters only, so they survive as one '_'-separated token of
// a BraTS 2018 subject id (Brats18_SiteA_AAA_1), where BraTS 2020's name_mapping.csv keeps the institution.
std::string phantom_site_name(int site);
// BraTS20_Training_001, ...: numbered site by site, starting at 1.
std::string phantom_subject_id(const PhantomOptions& opt, int site, int subject);
// Throws ValueError for non-positive counts or sizes (or a size under 16), unknown sites or modalities in
// `missing`, or a site left without any modality.
void validate_phantom_options(const PhantomOptions& opt);

// One site's scanner, drawn from (seed, site): the same for all its subjects.
struct PhantomScanner {
  double bias_amplitude;  // log-amplitude of the smooth multiplicative bias field
  double noise_sigma;     // Rician noise, relative to white matter's T1 intensity before gain
  double gamma;           // intensity gamma applied after noise
  double blur_sigma;      // separable Gaussian, in voxels (0: none)
  std::array<double, 4> gain;  // output scale per modality (phantom_modalities order)
};
PhantomScanner phantom_scanner(const PhantomOptions& opt, int site);

// The anatomy of one subject: a Tissue per voxel (index x + nx * (y + ny * z)), from (seed, site, subject).
std::vector<uint8_t> phantom_tissue(const PhantomOptions& opt, int site, int subject);

// The BraTS 2018-2021 label of a tissue: 1 necrosis, 2 edema, 4 enhancing tumor, 0 otherwise.
int phantom_label(Tissue t);

struct PhantomSubject {
  std::string id, site;
  std::vector<uint8_t> tissue;                // Tissue per voxel
  Volume label;                               // values 0, 1, 2, 4
  std::map<std::string, Volume> images;       // the modalities the site has; integer-valued, 0 outside the head
                                              // (outside the brain when skull_strip)
};
// One subject in memory, exactly as write_phantom writes it.
PhantomSubject generate_phantom_subject(const PhantomOptions& opt, int site, int subject);

// The modality images of a tissue map under one site's scanner (stream keyed by seed, site, subject, modality).
Volume phantom_image(const PhantomOptions& opt, int site, int subject, int modality,
                     const std::vector<uint8_t>& tissue);

// Writes DIR/<id>/<id>_{t1,t1ce,t2,flair,seg}.nii.gz (omitting what a site lacks; images int16, seg uint8) and
// DIR/name_mapping.csv, creating DIR. Returns nothing; errors are ValueError (options) or IOError/FormatError.
void write_phantom(const std::string& dir, const PhantomOptions& opt);

}  // namespace asyndgan::data
