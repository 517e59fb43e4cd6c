// Strict text-to-number parsing and comma splitting, shared by the CLI, manifests and configs: the whole
// string must be the number (no trailing text, no empty string), unlike std::stoll/std::stod.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace asyndgan {

std::optional<long long> parse_integer(const std::string& text);
std::optional<double> parse_number(const std::string& text);  // finite values only

// "a, b," -> {"a", "b", ""} (items trimmed of spaces and tabs); "" -> {""}.
std::vector<std::string> split_commas(const std::string& text);

}  // namespace asyndgan
