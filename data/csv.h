// A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF, a UTF-8 BOM) for the dataset manifest,
// BraTS's name_mapping.csv and user site lists, with errors that name the file and line.
#pragma once
#include <string>
#include <vector>

namespace asyndgan::data {

struct CsvRow {
  int line = 0;  // 1-based line where the row starts, for error messages
  std::vector<std::string> cells;
};

// Parses `text`; `name` is used in errors. Unquoted cells are trimmed of surrounding spaces and tabs; blank
// lines are skipped. An unterminated quote or text after a closing quote is a FormatError.
std::vector<CsvRow> parse_csv(const std::string& text, const std::string& name);
// Reads and parses a file (IOError naming it when it cannot be read).
std::vector<CsvRow> read_csv(const std::string& path);

// Index of the column whose header equals `name` (case-insensitive), or -1.
int csv_column(const CsvRow& header, const std::string& name);

}  // namespace asyndgan::data
