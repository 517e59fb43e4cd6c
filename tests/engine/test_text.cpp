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

TEST_CASE("text: code points encode as UTF-8 of 1 to 4 bytes") {
  std::string s;
  for (uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F600u}) append_utf8(s, cp);
  CHECK(s == "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}
