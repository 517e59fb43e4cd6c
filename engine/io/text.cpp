// Strict number parsing over the standard library's conversions.
#include "engine/io/text.h"
#include <cmath>
#include <exception>

namespace asyndgan {

std::optional<long long> parse_integer(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<double> parse_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(',', start);
    std::string item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

}  // namespace asyndgan
