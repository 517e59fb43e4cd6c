// Strict text-to-number parsing and comma splitting, shared by the CLI, manifests and configs: the whole
// string must be the number (no trailing text, no empty string), unlike std::stoll/std::stod.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace asyndgan {

std::optional<long long> parse_integer(const std::string& text);
std::optional<double> parse_number(const std::string& text);  // finite values only
// Appends code point `cp` (at most 0x10FFFF, not a surrogate) to `out` as UTF-8.
void append_utf8(std::string& out, uint32_t cp);

// "a, b," -> {"a", "b", ""} (items trimmed of spaces and tabs); "" -> {""}.
std::vector<std::string> split_commas(const std::string& text);

}  // namespace asyndgan
