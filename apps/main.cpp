// The asyndgan command-line tool: subcommands dispatch to their own files.
#include <cstdio>
#include <cstring>
#include <string>
#include "apps/commands.h"

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::puts("usage: asyndgan <command> [options]\n\ncommands:\n  info   version, compiled features, threads\n"
              "  demo   train a tiny conv net on generated data and print its falling loss");
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "info") return asyndgan::app::run_info(argc - 1, argv + 1);
    if (cmd == "demo") return asyndgan::app::run_demo(argc - 1, argv + 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asyndgan %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "asyndgan: unknown command '%s'; run 'asyndgan --help' for the list\n", cmd.c_str());
  return 2;
}
