// The shared CLI11 validators (apps/cli_options.h).
#include "apps/cli_options.h"
#include "engine/io/text.h"

namespace asyndgan::app {

CLI::Validator at_least(long long min) {
  return CLI::Validator(
      [min](std::string& value) -> std::string {
        const auto v = parse_integer(value);
        if (v && *v >= min) return "";
        return "must be an integer >= " + std::to_string(min) + ", got '" + value + "'";
      },
      min == 0 ? "NONNEGATIVE" : min == 1 ? "POSITIVE" : ">=" + std::to_string(min));
}

}  // namespace asyndgan::app
