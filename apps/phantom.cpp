// `asyndgan phantom`: writes a BraTS-layout directory of synthetic multi-site, multi-modal tumor MRI
// (data/phantom.h), for tests, the quickstart and benchmarks.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <CLI/CLI.hpp>
#include "apps/cli_options.h"
#include "apps/commands.h"
#include "data/phantom.h"
#include "base/error.h"
#include "engine/io/text.h"

namespace asyndgan::app {
namespace {

using data::PhantomOptions;

// What the command line gives; CLI11 checks counts, sizes and the seed's range.
struct PhantomArgs {
  std::string out;
  PhantomOptions opt;  // sites, subjects_per_site, seed: filled directly
  std::vector<int64_t> size;
  std::vector<std::string> missing;
  bool keep_skull = false;
};

// SITE:MOD pairs; SITE is a site name (SiteA, any case) or a 0-based index.
std::map<std::string, std::set<std::string>> parse_missing(const std::vector<std::string>& items, int sites) {
  std::map<std::string, std::set<std::string>> missing;
  const auto& mods = data::phantom_modalities();
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const std::string& item : items) {
    auto colon = item.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size())
      throw ValueError(msg("phantom: option --missing takes SITE:MODALITY pairs (e.g. SiteC:t2 or 2:t2), got '", item, "'"));
    const std::string site = item.substr(0, colon), mod = lower(item.substr(colon + 1));
    std::string name;
    if (std::all_of(site.begin(), site.end(), [](unsigned char c) { return std::isdigit(c); })) {
      long long idx = parse_integer(site).value_or(sites);
      if (idx < sites) name = data::phantom_site_name(static_cast<int>(idx));
    } else {
      for (int s = 0; s < sites && name.empty(); ++s)
        if (lower(data::phantom_site_name(s)) == lower(site)) name = data::phantom_site_name(s);
    }
    if (name.empty())
      throw ValueError(msg("phantom: option --missing: unknown site '", site, "' (sites are SiteA..",
                           data::phantom_site_name(sites - 1), " or 0..", sites - 1, ")"));
    if (std::find(mods.begin(), mods.end(), mod) == mods.end())
      throw ValueError(msg("phantom: option --missing: unknown modality '", item.substr(colon + 1),
                           "' (known: t1, t1ce, t2, flair)"));
    missing[name].insert(mod);
    if (missing[name].size() == mods.size())
      throw ValueError(msg("phantom: option --missing leaves site ", name, " without any modality"));
  }
  return missing;
}

void check_out(const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec)) throw ValueError(msg("phantom: option --out: ", out, " exists and is not a directory"));
  if (!fs::is_empty(out, ec))
    throw ValueError(msg("phantom: option --out: ", out, " exists and is not empty (choose a new or empty directory)"));
}

}  // namespace

int run_phantom(PhantomArgs& args) {
  const std::string& out = args.out;
  if (out.empty()) throw ValueError("phantom: option --out needs a directory");
  PhantomOptions& opt = args.opt;
  std::copy(args.size.begin(), args.size.end(), opt.size.begin());
  opt.missing = parse_missing(args.missing, opt.sites);
  opt.skull_strip = !args.keep_skull;
  check_out(out);

  const auto t0 = std::chrono::steady_clock::now();
  data::write_phantom(out, opt);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const int total = opt.sites * opt.subjects_per_site;
  std::printf("phantom: wrote %d sites x %d subjects (%d subjects, %lldx%lldx%lld, seed %llu) to %s in %.1f s\n",
              opt.sites, opt.subjects_per_site, total, static_cast<long long>(opt.size[0]),
              static_cast<long long>(opt.size[1]), static_cast<long long>(opt.size[2]),
              static_cast<unsigned long long>(opt.seed), out.c_str(), secs);
  for (int s = 0; s < opt.sites; ++s) {
    const std::string name = data::phantom_site_name(s);
    std::string mods, lacks;
    auto it = opt.missing.find(name);
    for (const auto& m : data::phantom_modalities())
      ((it != opt.missing.end() && it->second.count(m)) ? lacks : mods) += " " + m;
    std::printf("  %-6s %s..%s  modalities:%s%s%s\n", name.c_str(), data::phantom_subject_id(opt, s, 0).c_str(),
                data::phantom_subject_id(opt, s, opt.subjects_per_site - 1).c_str(), mods.c_str(),
                lacks.empty() ? "" : "  missing:", lacks.c_str());
  }
  std::printf("  sites are listed in %s/name_mapping.csv (the BraTS 2018 id's institution token)\n", out.c_str());
  return 0;
}

Verb add_phantom(CLI::App& cli) {
  auto o = std::make_shared<PhantomArgs>();
  o->size.assign(o->opt.size.begin(), o->opt.size.end());
  CLI::App* cmd = cli.add_subcommand("phantom", "write a BraTS-layout directory of synthetic multi-site tumor MRI");
  cmd->add_option("--out", o->out, "the directory to write (new or empty)")->required();
  cmd->add_option("--sites", o->opt.sites, "number of sites (SiteA, SiteB, ...)")->check(CLI::Range(1, 1000000));
  cmd->add_option("--subjects-per-site", o->opt.subjects_per_site, "subjects per site")->check(CLI::Range(1, 1000000));
  add_list(*cmd, "--size", o->size, "volume size X,Y,Z in 1 mm voxels, each 16..4096 (the anatomy needs 16)")
      ->expected(3)
      ->check(CLI::Range(16, 4096));
  add_list(*cmd, "--missing", o->missing,
           "SITE:MODALITY pairs a site lacks, e.g. SiteC:t2,0:flair (SITE: name or 0-based index)");
  cmd->add_option("--seed", o->opt.seed, "seed of every random draw: the same seed writes the same voxels")
      ->check(at_least(0));
  cmd->add_flag("--keep-skull", o->keep_skull, "keep scalp and skull signal (BraTS images are skull-stripped)");
  return {cmd, [o] { return run_phantom(*o); }};
}

}  // namespace asyndgan::app
