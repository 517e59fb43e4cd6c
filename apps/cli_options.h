// CLI11 conventions the verbs share: comma-separated list options shown with their defaults as one types them,
// and integer lower bounds without CLI11's unbounded-range noise in the help.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace asyndgan::app {

// An integer of at least `min` (help: NONNEGATIVE, POSITIVE or ">=min"; error: "must be an integer >= min,
// got 'x'"), where CLI::NonNegativeNumber would print the largest double as the bound.
CLI::Validator at_least(long long min);

// A comma-separated list, e.g. --size 240,240,155; given again, the option appends to the list. `values`
// holds the default, shown in --help as typed (nothing shown when empty).
template <class T>
CLI::Option* add_list(CLI::App& cmd, const std::string& name, std::vector<T>& values, const std::string& help) {
  std::string shown;
  for (const T& v : values) shown += (shown.empty() ? "" : ",") + CLI::detail::to_string(v);
  return cmd.add_option(name, values, help)->delimiter(',')->default_str(shown);
}

}  // namespace asyndgan::app
