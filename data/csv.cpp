// CSV parsing for manifests and site lists.
#include "data/csv.h"
#include <cctype>
#include <fstream>
#include <sstream>
#include "base/error.h"

namespace asyndgan::data {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool blank(const CsvRow& r) { return r.cells.size() == 1 && r.cells[0].empty(); }

}  // namespace

std::vector<CsvRow> parse_csv(const std::string& text, const std::string& name) {
  std::vector<CsvRow> rows;
  size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  int line = 1;
  CsvRow row{line, {}};
  std::string cell;
  bool quoted = false;  // the current cell was quoted: keep its spaces
  auto end_cell = [&] {
    row.cells.push_back(quoted ? cell : trim(cell));
    cell.clear();
    quoted = false;
  };
  auto end_row = [&] {
    end_cell();
    if (!blank(row)) rows.push_back(std::move(row));
    row = CsvRow{line, {}};
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == '"' && trim(cell).empty() && !quoted) {
      // A quoted cell: read to the closing quote; "" is a literal quote; newlines belong to the cell.
      int start = line;
      cell.clear();
      quoted = true;
      ++i;
      for (;;) {
        if (i >= text.size()) throw FormatError(msg(name, ": line ", start, ": unterminated quoted field"));
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        cell += text[i++];
      }
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
        throw FormatError(msg(name, ": line ", line, ": text after a closing quote (quote the whole cell)"));
      continue;
    }
    if (c == ',') {
      end_cell();
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_row();
    } else {
      cell += c;
    }
    ++i;
  }
  if (!cell.empty() || quoted || !row.cells.empty()) end_row();
  return rows;
}

std::vector<CsvRow> read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(msg(path, ": cannot open CSV file (check the path)"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IOError(msg(path, ": read failed"));
  return parse_csv(ss.str(), path);
}

int csv_column(const CsvRow& header, const std::string& name) {
  for (size_t c = 0; c < header.cells.size(); ++c) {
    const std::string& h = header.cells[c];
    if (h.size() != name.size()) continue;
    bool same = true;
    for (size_t k = 0; k < h.size() && same; ++k)
      same = std::tolower(static_cast<unsigned char>(h[k])) == std::tolower(static_cast<unsigned char>(name[k]));
    if (same) return static_cast<int>(c);
  }
  return -1;
}

}  // namespace asyndgan::data
