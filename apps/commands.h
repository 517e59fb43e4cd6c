// The CLI's subcommands: one table, each entry implemented in its own file (argv[0] is the subcommand name).
#pragma once

namespace asyndgan::app {

using CommandFn = int (*)(int argc, char** argv);
struct Command {
  const char* name;
  const char* summary;
  CommandFn run;
};

int run_info(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_phantom(int argc, char** argv);
int run_prepare(int argc, char** argv);
int run_shards(int argc, char** argv);
int run_train(int argc, char** argv);
int run_synth(int argc, char** argv);
int run_complete(int argc, char** argv);

}  // namespace asyndgan::app
