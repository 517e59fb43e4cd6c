// A tiny training run for the CLI tests: a phantom of 2 sites (SiteB without T2) prepared at 32x32 and a config
// for it (U-Net ngf 8, PatchGAN ndf 8, 8 iterations, grids every 4, checkpoints every 3) writing into dir/out.
#pragma once
#include <doctest/doctest.h>
#include <fstream>
#include <string>
#include "data/cli_util.h"
#include "engine/file_test_util.h"

namespace asyndgan::test {

// `dir` holds everything.
struct TinyRun {
  test::ScratchDir dir;
  std::string phantom, prepared, config, log;
  explicit TinyRun(const std::string& name)
      : dir(name), phantom(dir.file("phantom")), prepared(dir.file("prepared")), config(dir.file("run.toml")),
        log(dir.file("log.txt")) {
    const auto ph = test::run_cli("phantom --out " + phantom + " --sites 2 --subjects-per-site 3 --size 40,40,16 --missing SiteB:t2", log);
    REQUIRE_MESSAGE(ph.code == 0, ph.output);
    const auto prep = test::run_cli("prepare --brats " + phantom + " --out " + prepared +
                                        " --size 32,32 --split 0.67,0.33,0 --min-tumor 5", log);
    REQUIRE_MESSAGE(prep.code == 0, prep.output);
    std::ofstream(config) << "# a tiny run\n"
                             "[data]\n"
                             "shards = \"" << prepared << "\"\n"
                             "[model]\n"
                             "ngf = 8\n"
                             "ndf = 8\n"
                             "norm = \"instance\"\n"
                             "[schedule]\n"
                             "constant = 4\n"
                             "decay = 4\n"
                             "[train]\n"
                             "batch_per_site = 2\n"
                             "flip = true\n"
                             "[output]\n"
                             "dir = \"" << dir.file("out") << "\"\n"
                             "sample_every = 4\n"
                             "checkpoint_every = 3\n";
  }
  test::CliResult train(const std::string& extra = "") { return test::run_cli("train --config " + config + " " + extra, log); }
};

}  // namespace asyndgan::test
