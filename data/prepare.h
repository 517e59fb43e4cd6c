// `asyndgan prepare`: a dataset to training shards, one per site (brain mask, per-volume normalization,
// axial slice selection, pad/crop/resize, condition maps, availability masks, subject-level splits).
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>
#include "data/dataset.h"
#include "data/shard.h"
#include "data/volume.h"

namespace asyndgan::data {

enum class Normalization { percentile, zscore };
enum class ConditionKind { onehot, asyndgan };
Normalization parse_normalization(const std::string& s);  // ValueError naming the choices
ConditionKind parse_condition(const std::string& s);

struct PrepareOptions {
  int64_t height = 256, width = 256;  // target size; smaller sources are padded (centered), larger cropped
  bool resize = false;                // resize instead (bilinear images, nearest labels and brain mask)
  Normalization norm = Normalization::percentile;
  double clip_low = 0.5, clip_high = 99.5;  // percentiles inside the brain (percentile normalization)
  int64_t min_tumor = 10;                    // tumor voxels for a slice to count as a tumor slice
  double healthy_share = 0.1;                // share of each subject's tumor-free brain slices also kept
  ConditionKind condition = ConditionKind::onehot;
  std::array<double, 3> split{0.8, 0.1, 0.1};  // train/val/test fractions of each site's subjects
  uint64_t seed = 0;
  void validate() const;  // ValueError naming the option
};

// Channel names: onehot = the label names then "brain"; asyndgan = {"labels_outline"}.
std::vector<std::string> condition_channels(const LabelSet& labels, ConditionKind kind);

// The split of every subject: a split given by the dataset (a manifest's column) is kept; the others are
// split per site by `split` fractions (cumulative rounding), ordered by a draw from (seed, subject id).
std::map<std::string, Split> assign_splits(const Dataset& ds, const PrepareOptions& opt);

// How a subject's axial planes become prepared samples: shared by prepare_subject and by synthesis from
// label volumes (apps/label_volumes.cpp), so both build exactly the same generator inputs.
struct PlaneFit {
  PlaneFit(const PrepareOptions& opt, int64_t ny, int64_t nx);
  int64_t ny, nx, height, width;
  bool resize;       // resize (bilinear / nearest) rather than pad or crop
  float background;  // image value outside the brain and in padding (-1 percentile, 0 z-score)
  void mask(const uint8_t* src, uint8_t* dst) const;       // labels or brain mask, ny x nx -> height x width
  void image(const float* src, float* dst) const;          // a normalized plane, ny x nx -> height x width
  void unfit_image(const float* src, float* dst) const;    // height x width -> ny x nx (restacking a volume)
};
// Normalizes one modality volume inside the brain mask as the options say.
void normalize(Volume& v, const std::vector<uint8_t>& brain, const PrepareOptions& opt);
// The condition map [channels, H, W] of one plane from its fitted labels (internal values) and brain mask.
void plane_condition(const PrepareOptions& opt, int classes, const uint8_t* labels, const uint8_t* brain, int64_t h,
                     int64_t w, float* out);

// One subject's samples, ready for a ShardWriter: condition [n][C][H][W], image [n][M][H][W].
struct PreparedSubject {
  std::vector<SampleInfo> samples;
  std::vector<float> condition, image;
  int volumes = 0;  // NIfTI files read
};
// Missing modalities are zero-filled channels with their availability bit clear (zero is mid-range for
// both normalizations; the bit, not the value, tells the trainer to skip them). Volumes of one subject with
// different dims are a ShapeError naming both files; label values outside the set a FormatError.
PreparedSubject prepare_subject(const Dataset& ds, const Subject& s, Split split, const PrepareOptions& opt);

struct SiteReport {
  std::string site, shard;  // shard: the file written ("" when the site produced no sample)
  int subjects = 0;
  std::array<int, 3> split_subjects{0, 0, 0};
  std::array<int64_t, 3> split_samples{0, 0, 0};
};
struct PrepareReport {
  std::vector<SiteReport> sites;
  std::vector<std::string> condition_channels, image_channels;
  int64_t subjects = 0, volumes = 0, samples = 0;
  double seconds = 0;
  double volumes_per_second() const { return seconds > 0 ? static_cast<double>(volumes) / seconds : 0.0; }
};

// Writes out_dir/<site>.shard for each site (characters other than letters, digits, '.', '-', '_' in a site
// name become '_') and out_dir/prepare.json (options, label set, channels, per-site counts and shard sizes
// and checksums, each subject's split; nothing that varies between runs, so identical inputs give identical
// files). Subjects run in parallel (OpenMP); the output does not depend on the thread count.
// Subject ids and site names must be plain names (check_names). Everything is written to a staging folder
// beside out_dir that replaces it only once complete, so out_dir holds the old output or the whole new one.
// A non-empty out_dir is refused unless `overwrite`, and then replaced only if it holds nothing but
// prepare.json and .shard files. Keeping no sample at all is a ValueError saying which options to change.
PrepareReport prepare_dataset(const Dataset& ds, const std::string& out_dir, const PrepareOptions& opt,
                              bool overwrite = false);

}  // namespace asyndgan::data
