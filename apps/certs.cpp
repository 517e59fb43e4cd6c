// `asyndgan certs`: a run's CA and the keys and certificates of its central node and sites, and which file goes
// to which machine.
#include <CLI/CLI.hpp>
#include <cstdio>
#include "apps/commands.h"
#include "dist/net/certs.h"

namespace asyndgan::app {
namespace {

struct CertsArgs {
  std::string out;
  std::vector<std::string> sites;
  int days = 365;
  bool force = false;
};

int run_certs(const CertsArgs& a) {
  const std::vector<std::string> files = net::make_run_certs(a.out, a.sites, a.days, a.force);
  std::printf("certs: wrote %zu files to %s (keys 0600), valid %d days:\n", files.size(), a.out.c_str(), a.days);
  for (const auto& f : files) std::printf("  %s\n", f.c_str());
  std::printf("copy to the central node: ca.pem, central.pem, central.key\n");
  for (const auto& s : a.sites) std::printf("copy to site %s: ca.pem, %s.pem, %s.key\n", s.c_str(), s.c_str(), s.c_str());
  std::printf("keep ca.key with whoever runs 'asyndgan certs' (it signs the run's certificates; no role needs it)\n");
  return 0;
}

}  // namespace

Verb add_certs(CLI::App& cli) {
  auto a = std::make_shared<CertsArgs>();
  CLI::App* cmd = cli.add_subcommand("certs", "make a run's CA and the TLS keys and certificates of its central node and sites");
  cmd->add_option("--out", a->out, "the folder to write them to (created 0700)")->required();
  cmd->add_option("--sites", a->sites, "the sites' names, as in their shards, e.g. --sites SiteA,SiteB,SiteC")
      ->required()
      ->delimiter(',');
  cmd->add_option("--days", a->days, "how long the certificates stay valid")->check(CLI::Range(1, 36500));
  cmd->add_flag("--force", a->force, "replace the certificates already in --out");
  return {cmd, [a] { return run_certs(*a); }};
}

}  // namespace asyndgan::app
