// Site assignment for BraTS subjects from name_mapping.csv or a user CSV.
#include "data/brats_sites.h"
#include <algorithm>
#include <cctype>
#include <vector>
#include "data/csv.h"
#include "data/dataset.h"
#include "base/error.h"

namespace asyndgan::data {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool missing_id(const std::string& s) { return s.empty() || lower(s) == "na" || lower(s) == "nan"; }

}  // namespace

SiteGrouping parse_site_grouping(const std::string& s) {
  if (s == "institution") return SiteGrouping::institution;
  if (s == "paper") return SiteGrouping::paper;
  throw ValueError(msg("site grouping '", s, "': use institution (CBICA, TCIA01, ...) or paper (CBICA, TCIA, other)"));
}

std::string group_site(const std::string& institution, SiteGrouping g) {
  if (g == SiteGrouping::institution) return institution;
  if (institution == "CBICA") return "CBICA";
  if (institution.rfind("TCIA", 0) == 0) return "TCIA";
  return "other";
}

std::string brats_institution(const std::string& brats_id) {
  std::vector<std::string> tok;
  std::string cur;
  for (char c : brats_id + "_") {
    if (c == '_') {
      tok.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (tok.size() < 3 || lower(tok[0]).rfind("brats", 0) != 0 || tok[1].empty()) return "";
  return tok[1];
}

std::map<std::string, std::string> read_name_mapping(const std::string& path) {
  auto rows = read_csv(path);
  if (rows.empty()) throw FormatError(msg(path, ": empty name mapping"));
  const CsvRow& h = rows[0];
  int c18 = csv_column(h, "BraTS_2018_subject_ID"), c19 = csv_column(h, "BraTS_2019_subject_ID");
  if (c18 < 0) throw FormatError(msg(path, ": no BraTS_2018_subject_ID column (is this BraTS 2020's name_mapping.csv?)"));
  std::vector<int> id_cols;
  for (size_t c = 0; c < h.cells.size(); ++c) {
    std::string l = lower(h.cells[c]);
    if (l.size() >= 10 && l.compare(l.size() - 10, 10, "subject_id") == 0) id_cols.push_back(static_cast<int>(c));
  }
  std::map<std::string, std::string> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& cells = rows[r].cells;
    if (cells.size() != h.cells.size())
      throw FormatError(msg(path, ": line ", rows[r].line, ": ", cells.size(), " cells, the header has ", h.cells.size()));
    std::string site = brats_institution(cells[c18]);
    if (site.empty() && c19 >= 0) site = brats_institution(cells[c19]);
    if (site.empty()) site = "unknown";
    check_name(site, "site name (the institution in the subject id)", msg(path, ": line ", rows[r].line));
    for (int c : id_cols)
      if (!missing_id(cells[c])) out[cells[c]] = site;
  }
  return out;
}

std::map<std::string, std::string> read_site_csv(const std::string& path) {
  auto rows = read_csv(path);
  std::map<std::string, std::string> out;
  int cs = 0, ct = 1;
  size_t first = 0;
  if (!rows.empty() && csv_column(rows[0], "subject") >= 0 && csv_column(rows[0], "site") >= 0) {
    cs = csv_column(rows[0], "subject");
    ct = csv_column(rows[0], "site");
    first = 1;
  }
  for (size_t r = first; r < rows.size(); ++r) {
    const auto& cells = rows[r].cells;
    if (cells.size() <= static_cast<size_t>(std::max(cs, ct)) || cells[cs].empty() || cells[ct].empty())
      throw FormatError(msg(path, ": line ", rows[r].line, ": expected subject,site"));
    check_name(cells[ct], "site name", msg(path, ": line ", rows[r].line));
    auto [it, fresh] = out.emplace(cells[cs], cells[ct]);
    if (!fresh && it->second != cells[ct])
      throw FormatError(msg(path, ": line ", rows[r].line, ": subject '", cells[cs], "' is given two sites"));
  }
  if (out.empty()) throw FormatError(msg(path, ": no subject,site rows"));
  return out;
}

}  // namespace asyndgan::data
