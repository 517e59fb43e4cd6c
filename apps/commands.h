// Entry points of the CLI's subcommands (argv[0] is the subcommand name).
#pragma once

namespace asyndgan::app {
int run_info(int argc, char** argv);
int run_demo(int argc, char** argv);
}  // namespace asyndgan::app
