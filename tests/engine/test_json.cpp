// parse_json and dump_json (engine/io/json.h): exact integers, refusal of malformed text with the source and
// byte offset, duplicate keys and excess nesting, and no silent NaN or infinity on the way out.
#include <doctest/doctest.h>
#include <cmath>
#include "base/error.h"
#include "engine/io/json.h"
#include "file_test_util.h"

using namespace asyndgan;
using test::contains_all;
using test::error_message;

TEST_CASE("json: every value kind parses, in order, and the writer round-trips it exactly") {
  const Json j = parse_json(
      " {\"a\": [1, -2, 0, 9223372036854775807, -9223372036854775808], \"b\": {\"x\": true, \"y\": false, \"z\": null},"
      " \"s\": \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0001\", \"f\": -1.5e-3, \"u\": \"\xc3\xa9\xe2\x82\xac\"} ",
      "test");
  REQUIRE(j.is_object());
  const Json& a = j.at("a");
  CHECK(a[0].get<int64_t>() == 1);
  CHECK(a[1].get<int64_t>() == -2);
  CHECK(a[3].get<int64_t>() == INT64_MAX);
  CHECK(a[4].get<int64_t>() == INT64_MIN);
  CHECK(j.at("b").at("x").get<bool>());
  CHECK(j.at("b").at("z").is_null());
  CHECK(j.at("s").get<std::string>() == "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\x01");
  CHECK(j.at("f").is_number_float());
  CHECK(j.at("f").get<double>() == -1.5e-3);
  CHECK(j.at("u").get<std::string>() == "\xc3\xa9\xe2\x82\xac");
  CHECK_FALSE(j.contains("missing"));
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"a", "b", "s", "f", "u"});  // as written, not sorted

  const std::string text = dump_json(j);
  CHECK(text.find(' ') == std::string::npos);
  CHECK(dump_json(parse_json(text, "test")) == text);
  CHECK(dump_json(Json(0.1)) == "0.1");
  CHECK(dump_json(Json(2.0)) == "2.0");  // stays a number, not an integer, on the way back
  CHECK(parse_json(dump_json(Json(1e300)), "test").get<double>() == 1e300);
  CHECK(parse_json(dump_json(Json(uint64_t{1} << 62)), "test").get<uint64_t>() == uint64_t{1} << 62);
  CHECK(dump_json(Json("tab\there\x1f")) == "\"tab\\there\\u001f\"");
}

TEST_CASE("json: the writer refuses NaN, infinity and invalid UTF-8 instead of writing null") {
  CHECK_THROWS_AS(dump_json(Json(std::nan(""))), ValueError);
  Json nested = Json::object();
  nested["loss"] = Json::array({1.0, INFINITY});
  CHECK(contains_all(error_message<ValueError>([&] { dump_json(nested); }), {"non-finite", "inf"}));
  CHECK_THROWS_AS(dump_json(Json("\xff")), ValueError);
}

TEST_CASE("json: malformed text is a FormatError naming the source and the byte offset") {
  for (const char* bad : {"", "{", "{\"a\":1,}", "[1,]", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "{'a':1}",
                          "{\"a\" 1}", "{a:1}", "[1] [2]", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"",
                          "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "[9223372036854775808]", "[1e999]",
                          "{\"a\":1,\"a\":2}", "nul", "[true false]", "// comment\n{}", "\"unterminated", "NaN"}) {
    CAPTURE(std::string(bad));
    CHECK(contains_all(error_message<FormatError>([&] { parse_json(bad, "prepare.json"); }),
                       {"prepare.json: malformed JSON at byte "}));
  }
  CHECK(contains_all(error_message<FormatError>([&] { parse_json("{\"a\":1,\"a\":2}", "h"); }),
                     {"h: malformed JSON at byte 10: duplicate object key \"a\""}));
  CHECK(contains_all(error_message<FormatError>([&] { parse_json("[1,\n x]", "m.json"); }), {"m.json", "at byte 6"}));
  CHECK(contains_all(error_message<FormatError>([&] { parse_json("[9223372036854775808]", "h"); }), {"i64"}));
  // keys repeat freely in different objects
  CHECK(parse_json("[{\"a\":1},{\"a\":2,\"b\":{\"a\":3}}]", "h").size() == 2);
}

TEST_CASE("json: nesting is limited to 256 levels") {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  CHECK(contains_all(error_message<FormatError>([&] { parse_json(deep, "h"); }), {"nesting"}));
  std::string ok_deep(200, '[');
  ok_deep += std::string(200, ']');
  CHECK(parse_json(ok_deep, "h").is_array());
}
