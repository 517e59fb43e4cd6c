// A dataset: subjects from several sites, each with a label volume and any subset of the modalities, found
// from a BraTS directory (2018-2021 or 2023 names) or described by a CSV manifest.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace asyndgan::data {

// Label values in the files and the condition channel each maps to. The internal convention is the index
// in `names`: 0 background, then one channel per class. BraTS: 0 background, 1 NCR (necrosis / non-enhancing
// core), 2 ED (edema), 3 ET (enhancing tumor), from file values {0, 1, 2, 4} up to 2021 and {0, 1, 2, 3} in 2023.
struct LabelSet {
  std::vector<std::string> names;    // e.g. {"background", "ncr", "ed", "et"}
  std::vector<int> file_values;      // file value of each name, same order
  int internal(int file_value) const;  // -1 when the value is not in the set
};
LabelSet brats_labels(int year);  // year <= 2021 or 2023

struct Subject {
  std::string id;
  std::string site;
  std::string split;  // "train", "val", "test", or "" (assigned by prepare)
  std::string label_path;
  std::map<std::string, std::string> modality_paths;  // modality name -> file; missing modalities absent
};

struct Dataset {
  std::vector<std::string> modalities;  // the dataset's modality names, in channel order
  LabelSet labels;
  std::vector<Subject> subjects;
  std::string description;  // e.g. "BraTS 2018-2021 names, 45 subjects, 3 sites"
  std::vector<std::string> sites() const;  // sorted, unique
};

// Subject ids and site names name files (shards, synthetic volumes, grids), so they must be plain names, never
// paths: a FormatError "<where>: <what> '<name>' contains '/'; ..." saying how to fix it otherwise.
void check_name(const std::string& name, const std::string& what, const std::string& where);
// check_name on every subject id and site name of `ds`, and no two site names that differ only in case
// (their shards would be one file on a case-insensitive file system).
void check_names(const Dataset& ds);

// Scans a BraTS directory (subject folders directly inside, or inside HGG/LGG folders; .nii.gz or .nii).
// Detects the naming scheme (2018-2021: _t1 _t1ce _t2 _flair _seg; 2023: -t1n -t1c -t2w -t2f -seg) and maps
// 2023's modality names to t1, t1ce, t2, flair. Sites come from `site_csv` (a user CSV "subject,site"), else
// from BraTS 2020's name_mapping.csv inside `dir` (the institution in the BraTS 2018 subject id), else one
// site "all". Errors name the directory and what is missing.
Dataset scan_brats(const std::string& dir, const std::string& site_csv = "");

// Reads a CSV manifest: a header line with columns subject, site, split (optional), label, then one column
// per modality (its name is the header; empty cells are missing modalities); relative paths are relative to
// the manifest. Label values: `label_values` (e.g. "0,1,2,4") with optional `label_names`; else BraTS's.
Dataset read_manifest(const std::string& csv_path, const std::string& label_values = "",
                      const std::string& label_names = "");

}  // namespace asyndgan::data
