// Label sets, the dataset's site list and CSV manifests (any modalities, any label set).
#include "data/dataset.h"
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include "data/csv.h"
#include "base/error.h"
#include "engine/io/names.h"
#include "engine/io/text.h"

namespace asyndgan::data {

namespace fs = std::filesystem;

int LabelSet::internal(int file_value) const {
  for (size_t i = 0; i < file_values.size(); ++i)
    if (file_values[i] == file_value) return static_cast<int>(i);
  return -1;
}

LabelSet brats_labels(int year) {
  if (year != 2023 && year > 2021) throw ValueError(msg("brats_labels: no label convention for year ", year, " (use <= 2021 or 2023)"));
  return LabelSet{{"background", "ncr", "ed", "et"}, {0, 1, 2, year == 2023 ? 3 : 4}};
}

std::vector<std::string> Dataset::sites() const {
  std::set<std::string> s;
  for (const auto& sub : subjects) s.insert(sub.site);
  return {s.begin(), s.end()};
}

void check_name(const std::string& name, const std::string& what, const std::string& where) {
  const std::string problem = name_problem(name);
  if (problem.empty()) return;
  throw FormatError(msg(where, ": ", what, " '", printable(name), "' ", problem, ": subject ids and site names become ",
                        "file names (shards, synthetic volumes), so they must be plain names, not paths; rename it ",
                        "(letters, digits, '-', '_')"));
}

void check_names(const Dataset& ds) {
  std::map<std::string, std::string> folded;  // lower-case site name -> the site name
  for (const auto& s : ds.subjects) {
    check_name(s.id, "subject id", "prepare");
    check_name(s.site, "site name", msg("prepare: subject '", printable(s.id), "'"));
    std::string lower;
    for (char c : s.site) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, fresh] = folded.emplace(lower, s.site);
    if (!fresh && it->second != s.site)
      throw ValueError(msg("prepare: site names '", it->second, "' and '", s.site, "' differ only in case; their shards ",
                           "would be one file on a case-insensitive file system: give the sites distinct names"));
  }
}

namespace {

LabelSet parse_label_set(const std::string& values, const std::string& names, const std::string& where) {
  if (values.empty()) {
    if (!names.empty()) throw ValueError(msg(where, ": label names given without label values"));
    return brats_labels(2021);
  }
  LabelSet ls;
  for (const auto& v : split_commas(values)) {
    auto parsed = parse_integer(v);
    if (!parsed || *parsed < INT32_MIN || *parsed > INT32_MAX)
      throw ValueError(msg(where, ": label values must be integers like 0,1,2,4, got '", values, "'"));
    const int x = static_cast<int>(*parsed);
    if (ls.internal(x) >= 0) throw ValueError(msg(where, ": label value ", x, " is listed twice in '", values, "'"));
    ls.file_values.push_back(x);
  }
  if (ls.file_values.size() < 2)
    throw ValueError(msg(where, ": at least two label values are needed (background first), got '", values, "'"));
  if (!names.empty()) {
    ls.names = split_commas(names);
    if (ls.names.size() != ls.file_values.size())
      throw ValueError(msg(where, ": ", ls.names.size(), " label names for ", ls.file_values.size(), " label values"));
    if (std::set<std::string>(ls.names.begin(), ls.names.end()).size() != ls.names.size())
      throw ValueError(msg(where, ": label names must be unique, got '", names, "'"));
  } else {
    for (size_t i = 0; i < ls.file_values.size(); ++i)
      ls.names.push_back(i == 0 ? "background" : "label" + std::to_string(ls.file_values[i]));
  }
  return ls;
}

std::string normalize_split(const std::string& s, const std::string& where) {
  std::string l;
  for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "validation") l = "val";
  if (l.empty() || l == "train" || l == "val" || l == "test") return l;
  throw FormatError(msg(where, ": split '", s, "' is not train, val, test or empty"));
}

}  // namespace

Dataset read_manifest(const std::string& csv_path, const std::string& label_values, const std::string& label_names) {
  auto rows = read_csv(csv_path);
  if (rows.empty()) throw FormatError(msg(csv_path, ": empty manifest (expected a header: subject,site,split,label,<modalities>)"));
  const CsvRow& header = rows[0];
  int c_subject = csv_column(header, "subject"), c_site = csv_column(header, "site");
  int c_split = csv_column(header, "split"), c_label = csv_column(header, "label");
  if (c_subject < 0 || c_site < 0 || c_label < 0)
    throw FormatError(msg(csv_path, ": the header needs columns subject, site and label (split optional), then one per modality"));
  Dataset ds;
  ds.labels = parse_label_set(label_values, label_names, csv_path);
  std::vector<int> mod_cols;
  for (size_t c = 0; c < header.cells.size(); ++c) {
    int ci = static_cast<int>(c);
    if (ci == c_subject || ci == c_site || ci == c_split || ci == c_label) continue;
    const std::string& name = header.cells[c];
    if (name.empty()) throw FormatError(msg(csv_path, ": column ", c + 1, " of the header has no name"));
    if (std::find(ds.modalities.begin(), ds.modalities.end(), name) != ds.modalities.end())
      throw FormatError(msg(csv_path, ": modality column '", name, "' appears twice"));
    ds.modalities.push_back(name);
    mod_cols.push_back(ci);
  }
  if (ds.modalities.empty()) throw FormatError(msg(csv_path, ": no modality columns after subject, site, split, label"));
  if (ds.modalities.size() > 32) throw FormatError(msg(csv_path, ": at most 32 modalities are supported"));

  const fs::path base = fs::path(csv_path).parent_path();
  auto resolve = [&](const std::string& p, const std::string& where) {
    fs::path full = fs::path(p).is_absolute() ? fs::path(p) : base / p;
    if (!fs::is_regular_file(full)) throw FormatError(msg(where, ": file '", full.string(), "' does not exist (fix the path in the manifest)"));
    return full.string();
  };
  std::set<std::string> ids;
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    std::string where = msg(csv_path, ": line ", row.line);
    if (row.cells.size() != header.cells.size())
      throw FormatError(msg(where, ": ", row.cells.size(), " cells, the header has ", header.cells.size()));
    Subject s;
    s.id = row.cells[c_subject];
    s.site = row.cells[c_site];
    if (s.id.empty() || s.site.empty()) throw FormatError(msg(where, ": subject and site must not be empty"));
    check_name(s.id, "subject id", where);
    check_name(s.site, "site name", where);
    if (!ids.insert(s.id).second) throw FormatError(msg(where, ": subject '", s.id, "' is listed twice"));
    if (c_split >= 0) s.split = normalize_split(row.cells[c_split], where);
    if (row.cells[c_label].empty()) throw FormatError(msg(where, ": subject '", s.id, "' has no label file"));
    s.label_path = resolve(row.cells[c_label], msg(where, ": label of subject '", s.id, "'"));
    for (size_t m = 0; m < mod_cols.size(); ++m)
      if (!row.cells[mod_cols[m]].empty())
        s.modality_paths[ds.modalities[m]] =
            resolve(row.cells[mod_cols[m]], msg(where, ": ", ds.modalities[m], " of subject '", s.id, "'"));
    if (s.modality_paths.empty()) throw FormatError(msg(where, ": subject '", s.id, "' has no modality file"));
    ds.subjects.push_back(std::move(s));
  }
  if (ds.subjects.empty()) throw FormatError(msg(csv_path, ": the manifest lists no subjects"));
  ds.description = msg("manifest ", csv_path, ", ", ds.subjects.size(), " subjects, ", ds.sites().size(), " sites, ",
                       ds.modalities.size(), " modalities");
  return ds;
}

}  // namespace asyndgan::data
