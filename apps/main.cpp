// The asyndgan command-line tool: one CLI11 app with a subcommand per verb. A command-line error prints CLI11's
// message, which names the option, and where to find the verb's options (exit status 2); a failed run prints
// one line (exit status 1).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include "apps/build_info.h"
#include "apps/commands.h"

namespace {

constexpr int kUsageError = 2;

// The verb the command line names (parsed before its options, so known when one of them is wrong), or nullptr.
const CLI::App* chosen_verb(const CLI::App& cli) {
  const auto verbs = cli.get_subcommands();
  return verbs.empty() ? nullptr : verbs.front();
}

std::string failure_message(const CLI::App* cli, const CLI::Error& e) {
  if (const CLI::App* verb = chosen_verb(*cli))
    return "asyndgan " + verb->get_name() + ": error: " + e.what() + "\nrun 'asyndgan " + verb->get_name() +
           " --help' for its options\n";
  const auto rest = cli->remaining();  // what no verb took: CLI11 then says only that a verb is required
  std::string what = e.what();
  if (!rest.empty())
    what = rest.front().rfind('-', 0) == 0 ? "unknown option '" + rest.front() + "' (a verb's options follow the verb)"
                                           : "unknown verb '" + rest.front() + "'";
  return "asyndgan: error: " + what + "\nrun 'asyndgan --help' for the verbs\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace asyndgan::app;
  CLI::App cli("asyndgan: the AsynDGAN distributed GAN for medical images, and the engine under it", "asyndgan");
  cli.option_defaults()->always_capture_default();
  cli.require_subcommand(1);
  cli.set_version_flag("--version", [] { return build_report(); },
                       "print the version and the build's features (CUDA, cuDNN, NCCL, OpenMP, BLAS) and exit");
  cli.failure_message(failure_message);
  const Verb verbs[] = {add_info(cli),  add_demo(cli),  add_phantom(cli), add_prepare(cli),
                        add_shards(cli), add_train(cli), add_synth(cli),   add_complete(cli), add_certs(cli), add_audit(cli),
                        add_attack(cli)};
  for (const Verb& v : verbs) v.command->group("Verbs");
  cli.get_formatter()->label("SUBCOMMAND", "VERB");
  cli.footer("Run 'asyndgan VERB --help' for a verb's options.");  // after the verbs, which would inherit it
  if (argc < 2) {
    std::fputs(cli.help().c_str(), stderr);
    return kUsageError;
  }
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : kUsageError;  // --help and --version exit 0
  } catch (const std::exception& e) {  // --version when the BLAS library cannot be opened
    std::fprintf(stderr, "asyndgan: error: %s\n", e.what());
    return 1;
  }
  const CLI::App* verb = chosen_verb(cli);
  for (const Verb& v : verbs) {
    if (v.command != verb) continue;
    try {
      return v.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "asyndgan %s: error: %s\n", verb->get_name().c_str(), e.what());
      return 1;
    }
  }
  return kUsageError;  // unreachable: CLI11 requires exactly one verb
}
