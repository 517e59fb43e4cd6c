// JSON-lines metrics files (apps/io/jsonl.h): append, flush, torn-tail tolerance and resume filtering.
#include <doctest/doctest.h>
#include <cmath>
#include "base/error.h"
#include "apps/io/jsonl.h"
#include "engine/file_test_util.h"

using namespace asyndgan;
using namespace asyndgan::test;

namespace {
Json rec(int it, double loss) { return Json::object({{"iteration", it}, {"loss", loss}}); }
std::string text_of(const std::string& path) {
  auto b = read_bytes(path);
  return std::string(b.begin(), b.end());
}
}  // namespace

TEST_CASE("metrics: jsonl appends one flushed object per line") {
  ScratchDir dir("jsonl_append");
  const std::string path = dir.file("metrics.jsonl");
  {
    JsonlWriter w(path);
    w.write(rec(1, 0.5));
    CHECK(text_of(path) == "{\"iteration\":1,\"loss\":0.5}\n");  // visible before close
    w.write(rec(2, 0.25));
  }
  {
    JsonlWriter w(path);  // reopening appends
    w.write(rec(3, 0.125));
    CHECK_THROWS_AS(w.write(Json(std::nan(""))), ValueError);
  }
  JsonlContents c = read_jsonl(path);
  CHECK_FALSE(c.torn_tail);
  REQUIRE(c.records.size() == 3);
  CHECK(c.records[2].at("loss").get<double>() == 0.125);
}

TEST_CASE("metrics: a torn last line is skipped by the reader and cut by the next writer") {
  ScratchDir dir("jsonl_torn");
  const std::string path = dir.file("m.jsonl");
  const std::string line1 = "{\"iteration\":1}\n", torn = "{\"iteration\":2,\"lo";
  std::vector<char> bytes(line1.begin(), line1.end());
  bytes.insert(bytes.end(), torn.begin(), torn.end());
  write_bytes(path, bytes);
  JsonlContents c = read_jsonl(path);
  CHECK(c.torn_tail);
  CHECK(c.records.size() == 1);
  {
    JsonlWriter w(path);
    w.write(rec(2, 1.0));
  }
  CHECK(text_of(path) == line1 + "{\"iteration\":2,\"loss\":1.0}\n");
  // A torn line with no complete line before it leaves an empty file.
  write_bytes(path, std::vector<char>(torn.begin(), torn.end()));
  { JsonlWriter w(path); }
  CHECK(text_of(path).empty());
}

TEST_CASE("metrics: a bad line before the end is an error naming the line") {
  ScratchDir dir("jsonl_bad");
  const std::string path = dir.file("m.jsonl");
  const std::string text = "{\"a\":1}\n{oops}\n{\"a\":2}\n";
  write_bytes(path, std::vector<char>(text.begin(), text.end()));
  CHECK(contains_all(error_message<FormatError>([&] { read_jsonl(path); }), {path + ":2: malformed JSON at byte 2"}));
  CHECK(contains_all(error_message<IOError>([&] { read_jsonl(dir.file("none.jsonl")); }), {"none.jsonl"}));
}

TEST_CASE("metrics: filter_jsonl keeps the lines up to a resumed iteration") {
  ScratchDir dir("jsonl_filter");
  const std::string path = dir.file("m.jsonl");
  {
    JsonlWriter w(path);
    for (int i = 1; i <= 5; ++i) w.write(rec(i, i * 0.5));
  }
  CHECK(filter_jsonl(path, [](const Json& r) { return r.at("iteration").get<int64_t>() <= 3; }) == 3);
  JsonlContents c = read_jsonl(path);
  REQUIRE(c.records.size() == 3);
  CHECK(c.records.back().at("iteration") == 3);
  CHECK(dir.entries() == 1);  // no temporary file left behind
}
