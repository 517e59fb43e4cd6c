// Strict number parsing and comma splitting (engine/io/text.h).
#include <doctest/doctest.h>
#include "engine/io/text.h"

using namespace asyndgan;

TEST_CASE("text: integers and numbers must be the whole string") {
  CHECK(parse_integer("42") == 42);
  CHECK(parse_integer("-7") == -7);
  CHECK_FALSE(parse_integer("").has_value());
  CHECK_FALSE(parse_integer("4x").has_value());
  CHECK_FALSE(parse_integer("1.5").has_value());
  CHECK_FALSE(parse_integer("99999999999999999999").has_value());
  CHECK(parse_number("0.25") == 0.25);
  CHECK(parse_number("1e-3") == 1e-3);
  CHECK_FALSE(parse_number("0.5.1").has_value());
  CHECK_FALSE(parse_number("inf").has_value());
  CHECK_FALSE(parse_number("nan").has_value());
}

TEST_CASE("text: comma lists keep empty items and trim spaces") {
  CHECK(split_commas("a, b ,c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_commas("a,,") == std::vector<std::string>{"a", "", ""});
  CHECK(split_commas("") == std::vector<std::string>{""});
}
