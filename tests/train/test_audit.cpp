// `asyndgan audit`: what a site's security officer reads. Hello and condition maps once per connection and
// gradients pass (a site that reconnected says Hello again); any other message sent, or an upload that is not one
// per connection of the same samples, is flagged with exit status 3.
#include <doctest/doctest.h>
#include <fstream>
#include <string>
#include <vector>
#include "data/cli_util.h"
#include "engine/file_test_util.h"

using namespace asyndgan;

namespace {

std::string line(const std::string& dir, const std::string& type, int64_t step, const std::string& tensor = "") {
  return "{\"time\":\"2026-12-05T08:00:00.000Z\",\"dir\":\"" + dir + "\",\"type\":\"" + type + "\",\"step\":" +
         std::to_string(step) + ",\"bytes\":100,\"dtype\":\"bf16\",\"tensors\":[" +
         (tensor.empty() ? "" : "\"" + tensor + "\"") + "]}\n";
}

test::CliResult audit(const test::ScratchDir& dir, const std::vector<std::string>& lines) {
  const std::string path = dir.file("audit.jsonl");
  std::ofstream out(path);
  for (const auto& l : lines) out << l;
  out.close();
  return test::run_cli("audit " + path, dir.file("log.txt"));
}

const std::string kUpload = "conditions u8 [22, 5, 32, 32]";

}  // namespace

TEST_CASE("audit: one connection's Hello, upload and gradients pass") {
  test::ScratchDir dir("audit_one");
  const auto r = audit(dir, {line("sent", "hello", 0), line("sent", "conditions", 0, kUpload), line("received", "control", 0),
                             line("received", "request", 0, "synthetic bf16 [2, 4, 32, 32]"),
                             line("sent", "gradient", 0, "grad bf16 [2, 4, 32, 32]")});
  CHECK_MESSAGE(r.code == 0, r.output);
  CHECK(r.output.find("(1 connection)") != std::string::npos);
}

TEST_CASE("audit: a site that reconnected sends Hello and the same upload again, and passes") {
  test::ScratchDir dir("audit_two");
  const auto r = audit(dir, {line("sent", "hello", 0), line("sent", "conditions", 0, kUpload), line("sent", "gradient", 0),
                             line("sent", "hello", 0), line("sent", "conditions", 0, kUpload), line("sent", "gradient", 5)});
  CHECK_MESSAGE(r.code == 0, r.output);
  CHECK(r.output.find("(2 connections)") != std::string::npos);
}

TEST_CASE("audit: a message type a site never sends, a second upload in one connection, or other samples are flagged") {
  test::ScratchDir dir("audit_bad");
  const auto other = audit(dir, {line("sent", "hello", 0), line("sent", "conditions", 0, kUpload), line("sent", "request", 3)});
  CHECK(other.code == 3);
  CHECK_MESSAGE(other.output.find("attention: a 'request' message was sent") != std::string::npos, other.output);

  const auto twice = audit(dir, {line("sent", "hello", 0), line("sent", "conditions", 0, kUpload), line("sent", "conditions", 0, kUpload)});
  CHECK(twice.code == 3);
  CHECK_MESSAGE(twice.output.find("condition maps were sent 2 times over 1 connections") != std::string::npos, twice.output);

  const auto changed = audit(dir, {line("sent", "hello", 0), line("sent", "conditions", 0, kUpload), line("sent", "hello", 0),
                                   line("sent", "conditions", 0, "conditions u8 [40, 5, 32, 32]")});
  CHECK(changed.code == 3);
  CHECK_MESSAGE(changed.output.find("differ in shape between connections") != std::string::npos, changed.output);
}

TEST_CASE("audit: the privacy a site's gradients spent and the rows it refused are summarized") {
  test::ScratchDir dir("audit_privacy");
  std::string g = line("sent", "gradient", 0, "grad bf16 [2, 4, 32, 32]");
  g.insert(g.rfind('}'), ",\"epsilon\":2.5,\"site_wide_epsilon\":9.75,\"refused_rows\":3");
  const auto r = audit(dir, {line("sent", "hello", 0), line("sent", "conditions", 0, kUpload), g});
  CHECK_MESSAGE(r.code == 0, r.output);
  CHECK_MESSAGE(r.output.find("noised to epsilon 2.5 per sample") != std::string::npos, r.output);
  CHECK(r.output.find("site-wide bound 9.75") != std::string::npos);
  CHECK(r.output.find("3 row(s)") != std::string::npos);
  const auto plain = audit(dir, {line("sent", "hello", 0), line("sent", "conditions", 0, kUpload),
                                 line("sent", "gradient", 0, "grad bf16 [2, 4, 32, 32]")});
  CHECK(plain.output.find("privacy:") == std::string::npos);
}
