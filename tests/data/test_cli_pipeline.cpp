// The end-to-end path through the CLI: a 3-site phantom with one site lacking T2 is generated,
// prepared into shards and loaded; and the command line itself: --help, --version and its errors.
#include <doctest/doctest.h>
#include <sstream>
#include <utility>
#include "data/cli_util.h"
#include "data/shard.h"
#include "engine/file_test_util.h"
#include "engine/version.h"
#include "engine/blas_info.h"

using namespace asyndgan;

namespace {

const char* const kVerbs[] = {"info", "demo", "phantom", "prepare", "shards", "train", "synth", "complete"};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cli: phantom -> prepare -> shards, with SiteC lacking T2") {
  test::ScratchDir tmp("cli_pipeline");
  const std::string ph = tmp.file("phantom"), prep = tmp.file("prepared"), log = tmp.file("log.txt");

  const test::CliResult phantom =
      test::run_cli("phantom --out " + ph + " --sites 3 --subjects-per-site 2 --size 48,48,32 --missing SiteC:t2", log);
  INFO(phantom.output);
  REQUIRE(phantom.code == 0);

  const test::CliResult prepare =
      test::run_cli("prepare --brats " + ph + " --out " + prep + " --size 64,64 --split 0.5,0.5,0 --min-tumor 5", log);
  INFO(prepare.output);
  REQUIRE(prepare.code == 0);
  CHECK(prepare.output.find("3 sites") != std::string::npos);

  auto site_c = data::Shard::open(prep + "/SiteC.shard");
  CHECK(site_c->header().image_channels == std::vector<std::string>{"t1", "t1ce", "t2", "flair"});
  for (const auto& s : site_c->header().samples) CHECK(s.available == 0b1011u);  // t2 (bit 2) missing
  const auto site_a = data::Shard::open(prep + "/SiteA.shard");  // held: a range-for over a temporary's member dangles
  for (const auto& s : site_a->header().samples) CHECK(s.available == 0b1111u);

  const test::CliResult shards = test::run_cli("shards --dir " + prep + " --batches 6 --batch 2 --crop 48 --flip", log);
  INFO(shards.output);
  REQUIRE(shards.code == 0);
  CHECK(shards.output.find("t2 (missing)") != std::string::npos);
  CHECK(shards.output.find("loaded 6 batches (12 samples") != std::string::npos);

  const test::CliResult none = test::run_cli("shards --dir " + tmp.file("nothing"), log);
  CHECK(none.code != 0);
  CHECK(none.output.find("not a directory") != std::string::npos);
}

TEST_CASE("cli: --help lists every verb, and no verb prints that help to stderr and fails") {
  test::ScratchDir tmp("cli_help");
  const test::CliResult help = test::run_cli_streams("--help", tmp.file("log.txt"));
  CHECK(help.code == 0);
  const test::CliResult bare = test::run_cli_streams("", tmp.file("log.txt"));
  CHECK(bare.code != 0);
  CHECK(bare.output.empty());
  for (const char* verb : kVerbs) {
    CAPTURE(verb);
    CHECK(has(help.output, std::string("\n  ") + verb + " "));
    CHECK(has(bare.errors, std::string("\n  ") + verb + " "));
  }
  const test::CliResult unknown = test::run_cli_streams("bogus", tmp.file("log.txt"));
  CHECK(unknown.code != 0);
  CHECK(has(unknown.errors, "unknown verb 'bogus'"));
}

TEST_CASE("cli: every verb that asyndgan --help lists accepts --help and exits 0") {
  test::ScratchDir tmp("cli_every_help");
  const test::CliResult help = test::run_cli_streams("--help", tmp.file("log.txt"));
  REQUIRE(help.code == 0);
  // The verbs: the lines under "Verbs:", each "  NAME  description", up to the blank line.
  std::vector<std::string> verbs;
  const size_t start = help.output.find("\nVerbs:\n");
  REQUIRE(start != std::string::npos);
  std::istringstream lines(help.output.substr(start + 8));
  for (std::string line; std::getline(lines, line) && line.rfind("  ", 0) == 0;)
    verbs.push_back(line.substr(2, line.find(' ', 2) - 2));
  CHECK(verbs.size() >= std::size(kVerbs));
  for (const std::string& verb : verbs) {
    CAPTURE(verb);
    const test::CliResult r = test::run_cli_streams(verb + " --help", tmp.file("log.txt"));
    CHECK(r.code == 0);
    CHECK(has(r.output, "Usage: asyndgan " + verb));
    CHECK(r.errors.empty());
  }
}

TEST_CASE("cli: each verb's --help lists its options, with their defaults") {
  test::ScratchDir tmp("cli_verb_help");
  const std::pair<const char*, std::vector<std::string>> expected[] = {
      {"train", {"--config TEXT REQUIRED", "--set KEY=VALUE", "--resume", "--stop-at N", "--check"}},
      {"phantom", {"--out TEXT REQUIRED", "=3", "--subjects-per-site", "=5", "=240,240,155", "--missing", "--seed", "--keep-skull"}},
      {"prepare", {"--brats", "--manifest", "=256,256", "=percentile", "=0.5,99.5", "=10", "=0.1", "=onehot", "=0.8,0.1,0.1"}},
      {"shards", {"--dir TEXT REQUIRED", "=50", "=4", "--crop", "--flip", "=train"}},
      {"demo", {"=300", "=8", "=32", "--out"}},
      {"synth", {"--checkpoint", "--shards", "--labels", "--real-dir", "=all", "=cpu"}},
      {"complete", {"--checkpoint", "--brats", "--site", "--sites-csv", "--prepare", "=cpu"}},
  };
  for (const auto& [verb, parts] : expected) {
    CAPTURE(verb);
    const test::CliResult r = test::run_cli_streams(std::string(verb) + " --help", tmp.file("log.txt"));
    CHECK(r.code == 0);
    CHECK(has(r.output, std::string("Usage: asyndgan ") + verb));
    for (const std::string& part : parts) CHECK_MESSAGE(has(r.output, part), part);
  }
}

TEST_CASE("cli: an unknown option and a missing value are errors on stderr naming the option and the verb's --help") {
  test::ScratchDir tmp("cli_errors");
  const std::pair<std::string, std::string> bad[] = {
      {"train --config run.toml --bogus", "--bogus"},
      {"train --config", "--config"},
      {"train --config run.toml --set", "--set"},
      {"train", "--config"},  // required
      {"train --config run.toml --stop-at -1", "--stop-at"},
      {"shards --dir d --split every", "--split"},
      {"phantom --out o --size 48,48", "--size"},
  };
  for (const auto& [args, option] : bad) {
    CAPTURE(args);
    const test::CliResult r = test::run_cli_streams(args, tmp.file("log.txt"));
    CHECK(r.code != 0);
    CHECK(r.output.empty());
    CHECK(has(r.errors, option));
    const std::string verb = args.substr(0, args.find(' '));
    CHECK(has(r.errors, "asyndgan " + verb + ": error: "));
    CHECK(has(r.errors, "run 'asyndgan " + verb + " --help'"));
  }
}

TEST_CASE("cli: --version names the version and each compiled feature, and BLAS's kernels") {
  test::ScratchDir tmp("cli_version");
  const test::CliResult r = test::run_cli_streams("--version", tmp.file("log.txt"));
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(has(r.output, std::string("asyndgan ") + version_string() + "\n"));
  CHECK(has(r.output, ASYNDGAN_HAS_CUDA ? "CUDA:   compiled in" : "CUDA:   not compiled in"));
  CHECK(has(r.output, ASYNDGAN_HAS_CUDNN ? "cuDNN:  compiled in" : "cuDNN:  not compiled in"));
  CHECK(has(r.output, "NCCL:   "));
  CHECK(has(r.output, "OpenMP: "));
  const test::CliResult info = test::run_cli_streams("info", tmp.file("log.txt"));
  INFO(info.output);
  CHECK(info.code == 0);
  CHECK(info.output.rfind(r.output, 0) == 0);  // info starts with the same report, then the devices
  // Only now: loading BLAS here sets OPENBLAS_CORETYPE, which the runs above would have inherited.
  const auto& blas = blas_info();
  CHECK(has(r.output, "BLAS:   " + blas.path));
  CHECK(has(r.output, "kernels " + blas.core));
}
