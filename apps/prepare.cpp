// `asyndgan prepare`: a BraTS directory or a CSV manifest to one training shard per site plus prepare.json,
// printing per-site sample counts and the throughput in volumes/s.
#include <cstdio>
#include <string>
#include <CLI/CLI.hpp>
#include "apps/cli_options.h"
#include "apps/commands.h"
#include "data/brats_sites.h"
#include "data/dataset.h"
#include "data/prepare.h"
#include "base/error.h"
#include "engine/io/staged_dir.h"

namespace asyndgan::app {
namespace {

// What the command line gives (numeric defaults: data::PrepareOptions's, set in add_prepare); CLI11 checks each
// value's range and which options exclude which.
struct PrepareArgs {
  std::string brats, sites_csv, site_groups, manifest, label_values, label_names, out;
  std::vector<int64_t> size;
  bool resize = false, overwrite = false;
  std::string norm = "percentile", condition = "onehot";
  std::vector<double> clip, split;
  int64_t min_tumor = 0;
  double healthy_share = 0;
  uint64_t seed = 0;
};

data::PrepareOptions options(const PrepareArgs& a) {
  data::PrepareOptions o;
  o.height = a.size[0];
  o.width = a.size[1];
  o.resize = a.resize;
  o.norm = data::parse_normalization(a.norm);
  o.clip_low = a.clip[0];
  o.clip_high = a.clip[1];
  o.min_tumor = a.min_tumor;
  o.healthy_share = a.healthy_share;
  o.condition = data::parse_condition(a.condition);
  o.split = {a.split[0], a.split[1], a.split[2]};
  o.seed = a.seed;
  o.validate();
  return o;
}

data::Dataset dataset(const PrepareArgs& a) {
  if (a.brats.empty() == a.manifest.empty()) throw ValueError("prepare: give either --brats or --manifest");
  if (!a.brats.empty()) {
    data::Dataset ds = data::scan_brats(a.brats, a.sites_csv);
    if (!a.site_groups.empty()) {
      auto g = data::parse_site_grouping(a.site_groups);
      for (auto& s : ds.subjects) s.site = data::group_site(s.site, g);
    }
    return ds;
  }
  return data::read_manifest(a.manifest, a.label_values, a.label_names);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

}  // namespace

int run_prepare(const PrepareArgs& a) {
  const std::string& out = a.out;
  const data::PrepareOptions opt = options(a);
  const data::Dataset ds = dataset(a);
  std::printf("prepare: %s\n", ds.description.c_str());
  std::fflush(stdout);
  if (const std::string left = leftover_staging(out); !left.empty())
    std::printf("prepare: note: %s left by a prepare that did not finish; delete it once no prepare runs there\n", left.c_str());
  const data::PrepareReport r = data::prepare_dataset(ds, out, opt, a.overwrite);
  for (const auto& s : r.sites) {
    int64_t n = s.split_samples[0] + s.split_samples[1] + s.split_samples[2];
    std::printf("  site %-10s %3d subjects (%d/%d/%d train/val/test), %6lld samples (%lld/%lld/%lld) -> %s\n",
                s.site.c_str(), s.subjects, s.split_subjects[0], s.split_subjects[1], s.split_subjects[2],
                static_cast<long long>(n), static_cast<long long>(s.split_samples[0]),
                static_cast<long long>(s.split_samples[1]), static_cast<long long>(s.split_samples[2]),
                s.shard.empty() ? "(no samples: no shard)" : s.shard.c_str());
  }
  std::printf("prepare: %lld subjects, %lld volumes, %lld samples of %lldx%lld (condition %s; images %s) in %.2f s: "
              "%.1f volumes/s (%.2f subjects/s); wrote %s/prepare.json\n",
              static_cast<long long>(r.subjects), static_cast<long long>(r.volumes), static_cast<long long>(r.samples),
              static_cast<long long>(opt.height), static_cast<long long>(opt.width), join(r.condition_channels).c_str(),
              join(r.image_channels).c_str(), r.seconds, r.volumes_per_second(),
              r.seconds > 0 ? static_cast<double>(r.subjects) / r.seconds : 0.0, out.c_str());
  return 0;
}

Verb add_prepare(CLI::App& cli) {
  auto o = std::make_shared<PrepareArgs>();
  const data::PrepareOptions d;
  o->size = {d.height, d.width};
  o->clip = {d.clip_low, d.clip_high};
  o->min_tumor = d.min_tumor;
  o->healthy_share = d.healthy_share;
  o->split.assign(d.split.begin(), d.split.end());
  o->seed = d.seed;
  CLI::App* cmd = cli.add_subcommand("prepare", "preprocess a BraTS directory or CSV manifest into one training shard per site");
  cmd->footer("Give either --brats DIR or --manifest CSV. Writes one checksummed shard per site and prepare.json to --out,\n"
              "through a staging folder beside it that takes its place once complete. Subject ids and site names\n"
              "become file names: they must be plain names (no '/', '\\', '..' or control characters).");
  CLI::Option* brats = cmd->add_option("--brats", o->brats, "a BraTS directory (2018-2021 or 2023 names, with or without HGG/LGG)");
  CLI::Option* manifest = cmd->add_option("--manifest", o->manifest, "a CSV manifest: subject,site,label,<modality>... columns");
  manifest->excludes(brats);
  CLI::Option* sites_csv = cmd->add_option("--sites-csv", o->sites_csv, "with --brats: a subject,site CSV instead of name_mapping.csv")
      ->excludes(manifest);
  cmd->add_option("--site-groups", o->site_groups,
                  "with --brats: group name_mapping.csv's institutions (paper: CBICA, TCIA, other)")
      ->check(CLI::IsMember({"institution", "paper"}))
      ->excludes(manifest)
      ->excludes(sites_csv);
  cmd->add_option("--label-values", o->label_values, "with --manifest: the label values, e.g. 0,1,2,4 (BraTS's are detected)")
      ->excludes(brats);
  cmd->add_option("--label-names", o->label_names, "with --manifest: a name per label value, e.g. background,ncr,ed,et")
      ->excludes(brats);
  cmd->add_option("--out", o->out, "the directory to write the shards and prepare.json to")->required();
  add_list(*cmd, "--size", o->size, "target HEIGHT,WIDTH, each 8..8192 (smaller slices padded, larger cropped)")
      ->expected(2)
      ->check(CLI::Range(8, 8192));
  cmd->add_flag("--overwrite", o->overwrite,
               "replace a non-empty --out of an earlier prepare (only once the new output is complete)");
  cmd->add_flag("--resize", o->resize, "resize slices to --size instead of padding or cropping");
  cmd->add_option("--norm", o->norm, "intensity normalization per volume, inside the brain")
      ->check(CLI::IsMember({"percentile", "zscore"}));
  add_list(*cmd, "--clip", o->clip, "LOW,HIGH percentiles inside the brain that percentile normalization maps to -1,1")
      ->expected(2)
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--min-tumor", o->min_tumor, "tumor voxels for a slice to count as a tumor slice")->check(at_least(1));
  cmd->add_option("--healthy-share", o->healthy_share, "share of each subject's tumor-free brain slices also kept")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--condition", o->condition, "the condition map: one-hot labels + brain, or the paper's one channel")
      ->check(CLI::IsMember({"onehot", "asyndgan"}));
  add_list(*cmd, "--split", o->split, "TRAIN,VAL,TEST fractions of each site's subjects (adding up to 1)")
      ->expected(3)
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o->seed, "seed of the split and of the healthy-slice draw")->check(at_least(0));
  return {cmd, [o] { return run_prepare(*o); }};
}

}  // namespace asyndgan::app
