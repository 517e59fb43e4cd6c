// The end-to-end path through the CLI: a 3-site phantom with one site lacking T2 is generated,
// prepared into shards and loaded.
#include <doctest/doctest.h>
#include "data/cli_util.h"
#include "data/shard.h"
#include "engine/file_test_util.h"

using namespace asyndgan;

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
  for (const auto& s : data::Shard::open(prep + "/SiteA.shard")->header().samples) CHECK(s.available == 0b1111u);

  const test::CliResult shards = test::run_cli("shards --dir " + prep + " --batches 6 --batch 2 --crop 48 --flip", log);
  INFO(shards.output);
  REQUIRE(shards.code == 0);
  CHECK(shards.output.find("t2 (missing)") != std::string::npos);
  CHECK(shards.output.find("loaded 6 batches (12 samples") != std::string::npos);

  const test::CliResult none = test::run_cli("shards --dir " + tmp.file("nothing"), log);
  CHECK(none.code != 0);
  CHECK(none.output.find("not a directory") != std::string::npos);
}
