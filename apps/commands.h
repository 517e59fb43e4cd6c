// The CLI's verbs. Each add_* declares one CLI11 subcommand with its options, which CLI11 fills into that
// verb's own options struct, and returns the subcommand with what runs the verb once the command line is
// parsed (apps/main.cpp holds the one CLI::App).
#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace asyndgan::app {

struct Verb {
  CLI::App* command;
  std::function<int()> run;  // the exit status
};

Verb add_info(CLI::App& cli);
Verb add_demo(CLI::App& cli);
Verb add_phantom(CLI::App& cli);
Verb add_prepare(CLI::App& cli);
Verb add_shards(CLI::App& cli);
Verb add_train(CLI::App& cli);
Verb add_synth(CLI::App& cli);
Verb add_complete(CLI::App& cli);
Verb add_audit(CLI::App& cli);
Verb add_certs(CLI::App& cli);
Verb add_attack(CLI::App& cli);

}  // namespace asyndgan::app
