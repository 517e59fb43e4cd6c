// The asyndgan command-line tool: looks the subcommand up in one table and runs it, turning errors into
// one clear line and a non-zero exit status.
#include <cstdio>
#include <cstring>
#include <string>
#include "apps/commands.h"

namespace {

const asyndgan::app::Command kCommands[] = {
    {"info", "version, compiled features, BLAS and devices", asyndgan::app::run_info},
    {"demo", "train a tiny conv net on generated data and print its falling loss", asyndgan::app::run_demo},
    {"phantom", "write a BraTS-layout directory of synthetic multi-site tumor MRI", asyndgan::app::run_phantom},
    {"prepare", "preprocess a BraTS directory or CSV manifest into one training shard per site", asyndgan::app::run_prepare},
    {"shards", "verify and summarize prepared shards, and load batches from them", asyndgan::app::run_shards},
    {"train", "train AsynDGAN from a TOML config, all sites in this process", asyndgan::app::run_train},
    {"synth", "synthesize NIfTI volumes and previews from a generator checkpoint and label maps", asyndgan::app::run_synth},
    {"complete", "write a site's missing modalities as NIfTI volumes generated from its label maps", asyndgan::app::run_complete},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: asyndgan <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "asyndgan %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "asyndgan: unknown command '%s'\n", name.c_str());
  usage(stderr);
  return 2;
}
