// `asyndgan certs`: writes a run's CA and the central node's and each site's key and certificate for mutual TLS,
// and says which files go to which machine.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>
#include <CLI/CLI.hpp>
#include "apps/cli_options.h"
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

int run_certs(const CertsArgs& args) {
  net::make_run_certs(args.out, args.sites, args.days, args.force);
  const std::string dir = std::filesystem::path(args.out).string();
  std::printf(
      "certs: wrote a run CA and keys and certificates for the central node and %zu site%s to %s "
      "(valid %d days; keys 0600):\n",
      args.sites.size(), args.sites.size() == 1 ? "" : "s", dir.c_str(), args.days);
  for (const std::string& f : net::run_cert_files(args.sites)) std::printf("  %s/%s\n", dir.c_str(), f.c_str());
  std::printf("copy to each machine:\n");
  std::printf("  central node:  ca.pem central.pem central.key\n");
  for (const std::string& s : args.sites)
    std::printf("  site %-8s ca.pem %s.pem %s.key\n", (s + ":").c_str(), s.c_str(), s.c_str());
  std::printf("ca.key stays here, with whoever runs 'asyndgan certs' (it signs new certificates; no node needs it).\n");
  return 0;
}

}  // namespace

Verb add_certs(CLI::App& cli) {
  auto o = std::make_shared<CertsArgs>();
  CLI::App* cmd = cli.add_subcommand(
      "certs", "write a run's CA and the TLS keys and certificates of the central node and each site");
  cmd->add_option("--out", o->out, "the directory to write (made 0700 when missing)")->required();
  add_list(*cmd, "--sites", o->sites, "the sites' names, e.g. SiteA,SiteB (letters, digits, '_', '.', '-')")
      ->required();
  cmd->add_option("--days", o->days, "how many days the certificates are valid")->check(CLI::Range(1, 36500));
  cmd->add_flag("--force", o->force, "replace the files of an earlier run in --out");
  return {cmd, [o] { return run_certs(*o); }};
}

}  // namespace asyndgan::app
