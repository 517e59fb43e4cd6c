// scan_brats: finds BraTS subjects by file name (2018-2021 or 2023 scheme), assigns sites and detects the
// label convention from the label files themselves.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include "data/brats_sites.h"
#include "data/dataset.h"
#include "data/nifti.h"
#include "base/error.h"

namespace asyndgan::data {

namespace fs = std::filesystem;

namespace {

enum Scheme { kOld = 0, kNew = 1 };  // 2018-2021 names, 2023 names

struct Match {
  Scheme scheme;
  std::string subject, modality;  // modality "seg" for the label
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// <id>_t1.nii.gz ... or <id>-t1n.nii.gz ...; 2023 names map to 2018's modality names.
bool match_file(const std::string& name, Match& m) {
  std::string l = lower(name), stem;
  if (l.size() > 7 && l.compare(l.size() - 7, 7, ".nii.gz") == 0) stem = name.substr(0, name.size() - 7);
  else if (l.size() > 4 && l.compare(l.size() - 4, 4, ".nii") == 0) stem = name.substr(0, name.size() - 4);
  else return false;
  static const std::map<std::string, std::string> old_names{
      {"t1", "t1"}, {"t1ce", "t1ce"}, {"t2", "t2"}, {"flair", "flair"}, {"seg", "seg"}};
  static const std::map<std::string, std::string> new_names{
      {"t1n", "t1"}, {"t1c", "t1ce"}, {"t2w", "t2"}, {"t2f", "flair"}, {"seg", "seg"}};
  size_t u = stem.rfind('_');
  if (u != std::string::npos && u > 0) {
    auto it = old_names.find(lower(stem.substr(u + 1)));
    if (it != old_names.end()) {
      m = {kOld, stem.substr(0, u), it->second};
      return true;
    }
  }
  size_t d = stem.rfind('-');
  if (d != std::string::npos && d > 0) {
    auto it = new_names.find(lower(stem.substr(d + 1)));
    if (it != new_names.end()) {
      m = {kNew, stem.substr(0, d), it->second};
      return true;
    }
  }
  return false;
}

struct Found {
  std::string where;  // folder holding the files
  std::map<std::string, std::string> files;  // modality or "seg" -> path
};

// Subject folders directly in `dir` or in its HGG/LGG folders; files lying directly in those are taken too.
std::vector<fs::path> candidate_files(const fs::path& root) {
  std::vector<fs::path> tops{root}, files;
  for (const char* g : {"HGG", "LGG"})
    if (fs::is_directory(root / g)) tops.push_back(root / g);
  for (const auto& top : tops) {
    for (const auto& e : fs::directory_iterator(top)) {
      if (e.is_directory()) {
        if (top == root && (e.path().filename() == "HGG" || e.path().filename() == "LGG")) continue;
        for (const auto& f : fs::directory_iterator(e.path()))
          if (f.is_regular_file()) files.push_back(f.path());
      } else if (e.is_regular_file()) {
        files.push_back(e.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The enhancing-tumor value the label files use: 4 (up to 2021) or 3 (2023). Reads label files in order
// until one has either; `note` says how it was decided.
int detect_et_value(const std::vector<Subject>& subjects, int by_name, std::string& note) {
  const size_t max_files = 8;
  for (size_t i = 0; i < subjects.size() && i < max_files; ++i) {
    Volume v = read_nifti(subjects[i].label_path);
    bool has3 = false, has4 = false;
    for (float x : v.voxels) {
      has3 |= x == 3.0f;
      has4 |= x == 4.0f;
    }
    if (has3 && has4)
      throw FormatError(msg(subjects[i].label_path, ": holds both label 3 and label 4; BraTS uses 4 (up to 2021) or 3 (2023) "
                            "for enhancing tumor, not both"));
    if (has3 || has4) {
      int et = has4 ? 4 : 3;
      note = msg("enhancing tumor = ", et, ", found in ", fs::path(subjects[i].label_path).filename().string());
      if (et != by_name) note += " (the file names suggest the other convention)";
      return et;
    }
  }
  note = msg("enhancing tumor = ", by_name, " by the naming scheme (none in the first ",
             std::min(subjects.size(), max_files), " label files)");
  return by_name;
}

}  // namespace

Dataset scan_brats(const std::string& dir, const std::string& site_csv) {
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw IOError(msg(dir, ": BraTS directory does not exist or is not a directory"));

  std::map<std::string, Found> found;
  std::string example[2];
  for (const auto& p : candidate_files(root)) {
    Match m;
    if (!match_file(p.filename().string(), m)) continue;
    if (example[m.scheme].empty()) example[m.scheme] = p.string();
    check_name(m.subject, "subject id", p.string());
    Found& f = found[m.subject];
    std::string where = p.parent_path().string();
    if (f.where.empty()) f.where = where;
    if (f.where != where)
      throw FormatError(msg(dir, ": subject '", m.subject, "' appears in two folders: ", f.where, " and ", where));
    auto [it, fresh] = f.files.emplace(m.modality, p.string());
    if (!fresh)
      throw FormatError(msg(dir, ": subject '", m.subject, "' has two ", m.modality, " files: ", it->second, " and ",
                            p.string(), " (keep one)"));
  }
  if (!example[kOld].empty() && !example[kNew].empty())
    throw FormatError(msg(dir, ": mixes BraTS 2018-2021 names (", example[kOld], ") and 2023 names (", example[kNew],
                          "); prepare each release separately"));
  if (found.empty())
    throw FormatError(msg(dir, ": no BraTS subjects found (expected subject folders, optionally inside HGG/LGG, with "
                          "files like <id>_t1.nii.gz, _t1ce, _t2, _flair, _seg or <id>-t1n.nii.gz, -t1c, -t2w, -t2f, -seg)"));
  const Scheme scheme = example[kOld].empty() ? kNew : kOld;

  Dataset ds;
  ds.modalities = {"t1", "t1ce", "t2", "flair"};
  int no_label = 0, no_image = 0;
  std::string unlabelled;  // the first few subjects without a label, with the file that was looked for
  for (auto& [id, f] : found) {
    auto seg = f.files.find("seg");
    if (seg == f.files.end()) {
      if (++no_label <= 5)
        unlabelled += msg(no_label > 1 ? ", " : "", id, " (no ", (fs::path(f.where) / (id + (scheme == kOld ? "_seg" : "-seg"))).string(),
                          ".nii.gz)");
      continue;
    }
    Subject s;
    s.id = id;
    s.label_path = seg->second;
    for (const auto& m : ds.modalities)
      if (f.files.count(m)) s.modality_paths[m] = f.files[m];
    if (s.modality_paths.empty()) {
      ++no_image;
      continue;
    }
    ds.subjects.push_back(std::move(s));
  }
  if (ds.subjects.empty())
    throw FormatError(msg(dir, ": ", found.size(), " BraTS subjects found but none has both a label (_seg/-seg) file and "
                          "an image: nothing to prepare"));

  std::string site_note;
  if (!site_csv.empty()) {
    auto sites = read_site_csv(site_csv);
    std::vector<std::string> unlisted;
    for (auto& s : ds.subjects) {
      auto it = sites.find(s.id);
      if (it == sites.end()) unlisted.push_back(s.id);
      else s.site = it->second;
    }
    if (!unlisted.empty())
      throw FormatError(msg(site_csv, ": ", unlisted.size(), " subjects of ", dir, " have no site (e.g. '", unlisted[0],
                            "'); add a subject,site row for each"));
    site_note = "sites from " + site_csv;
  } else if (fs::is_regular_file(root / "name_mapping.csv")) {
    auto sites = read_name_mapping((root / "name_mapping.csv").string());
    int unknown = 0;
    for (auto& s : ds.subjects) {
      auto it = sites.find(s.id);
      s.site = it == sites.end() ? "unknown" : it->second;
      unknown += it == sites.end();
    }
    site_note = "sites from name_mapping.csv";
    if (unknown) site_note += msg(" (", unknown, " subjects not in it: site 'unknown')");
  } else {
    for (auto& s : ds.subjects) s.site = "all";
    site_note = "one site 'all' (no name_mapping.csv or sites CSV)";
  }

  std::string label_note;
  int et = detect_et_value(ds.subjects, scheme == kOld ? 4 : 3, label_note);
  ds.labels = brats_labels(et == 4 ? 2021 : 2023);
  ds.description = msg("BraTS ", scheme == kOld ? "2018-2021" : "2023", " names in ", dir, ": ", ds.subjects.size(),
                       " subjects, ", ds.sites().size(), " sites; ", site_note, "; ", label_note);
  if (no_label)
    ds.description += msg("; warning: skipped ", no_label, " subject", no_label > 1 ? "s" : "", " without a label file: ",
                          unlabelled, no_label > 5 ? msg(" and ", no_label - 5, " more") : "",
                          " (a label map is needed to prepare a subject)");
  if (no_image) ds.description += msg("; warning: skipped ", no_image, " subjects without an image");
  return ds;
}

}  // namespace asyndgan::data
